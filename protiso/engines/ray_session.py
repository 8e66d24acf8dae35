"""Connecting to Ray: an existing cluster (``--address``) or a local instance on loopback.

Ray is imported here only, lazily. ``address``: ``None`` starts a local instance for the job, ``auto`` the
cluster ``ray start`` recorded here (or ``$RAY_ADDRESS``), ``host:port`` or ``ray://host:port``. A Ray
already running in this process is reused. A local instance, or a cluster whose head listens on
127.0.0.1, is reached over loopback only: protiso sets ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` before
``import ray`` in those two cases (Ray 2.5x/2.6x would otherwise use the outward address).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from protiso.errors import ProtisoError

LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
INSTALL_HINT = "the ray engine needs Ray: pip install 'protiso[ray]' (or pip install 'ray[data]')"


def import_ray() -> ModuleType:
    """The ``ray`` module, or a one-line ProtisoError saying how to install it."""
    try:
        # lazy: Ray is an optional extra (pip install 'protiso[ray]')
        import ray
        import ray.data  # noqa: F401  (the engine uses Ray Data)
    except ImportError:
        raise ProtisoError(INSTALL_HINT) from None
    return ray


def _recorded_address() -> str | None:
    """What ``address='auto'`` resolves to: $RAY_ADDRESS, else the file ``ray start`` writes."""
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"]
    recorded = Path(os.environ.get("RAY_TMPDIR", "/tmp")) / "ray" / "ray_current_cluster"
    try:
        return recorded.read_text().strip() or None
    except OSError:
        return None


def is_loopback(address: str | None) -> bool:
    """Whether ``address`` means a Ray instance reached over loopback (None = a local instance)."""
    if address is None or address == "local":
        return True
    if address == "auto":
        recorded = _recorded_address()
        return recorded is not None and recorded != "auto" and is_loopback(recorded)
    host = address.removeprefix("ray://").rsplit(":", 1)[0]
    return host in LOOPBACK_HOSTS


@contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None,
                num_gpus: int | None = None) -> Iterator[ModuleType]:
    """Yield the ``ray`` module connected to ``address`` (see the module docstring)."""
    if "ray" not in sys.modules and is_loopback(address):
        os.environ.setdefault(LOOPBACK_ENV, "0")
    ray = import_ray()
    _quiet(ray)
    if ray.is_initialized():
        yield ray
        return
    try:
        if address is None:
            ray.init(num_cpus=num_cpus, num_gpus=num_gpus, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = "a local Ray instance" if address is None else f"Ray at {address}"
        raise ProtisoError(f"cannot start or reach {where}: {str(error).strip().splitlines()[0]}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _quiet(ray: ModuleType) -> None:
    """protiso shows its own progress bar; Ray Data's bars and per-operator logs would duplicate it."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    if hasattr(context, "enable_operator_progress_bars"):
        context.enable_operator_progress_bars = False
    if hasattr(context, "print_on_execution_start"):
        context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)


def cluster_size(ray: ModuleType) -> tuple[float, float]:
    """(CPUs, GPUs) the connected cluster has."""
    resources = ray.cluster_resources()
    return float(resources.get("CPU", 0.0)), float(resources.get("GPU", 0.0))


def worker_count(ray: ModuleType, workers: int | None, cpus_per_worker: float, gpus_per_worker: float) -> int:
    """``workers`` if given, else as many actors as the cluster's GPUs (or CPUs) hold."""
    if workers is not None:
        if workers < 1:
            raise ProtisoError(f"--workers must be at least 1; got {workers}")
        return workers
    cpus, gpus = cluster_size(ray)
    if gpus_per_worker > 0:
        if gpus < gpus_per_worker:
            raise ProtisoError(f"--gpus-per-worker {gpus_per_worker:g} but the Ray cluster has {gpus:g} GPUs")
        return max(1, int(gpus // gpus_per_worker))
    return max(1, int(cpus // max(cpus_per_worker, 1e-9)))


def original_error(error: BaseException) -> BaseException:
    """The ProtisoError a Ray task raised, if one is in ``error``'s cause chain; else ``error``."""
    seen = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ProtisoError):
            return ProtisoError(str(current).splitlines()[0])
        seen.add(id(current))
        cause = getattr(current, "cause", None)
        current = cause if isinstance(cause, BaseException) else (current.__cause__ or current.__context__)
    return error

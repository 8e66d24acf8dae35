"""One busy BLAS thread pool at a time while protiso's float64 updates run.

numpy and scipy wheels each bundle their own OpenBLAS, and an OpenBLAS thread spins for a while after
each call before it sleeps. protiso's heavy products go through scipy's copy (``dsyrk``); the small
numpy calls between them (dot products, matrix-vector products) wake numpy's copy, whose spinning
threads then take cores from scipy's. Measured on the 2-core development machine: 200 Gram-form groups
of 10-1,000 x 1,024 took 5.2 s with both pools at two threads and 2.4 s with numpy's at one; twenty
moment-form updates of 3,000 rows, each followed by its finishing dot products, 1.52 s and 0.91 s.

``numpy_blas_single()`` limits numpy's BLAS to one thread for a block of code, and does nothing when
numpy and scipy share one BLAS library (then there is only one pool).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import lru_cache
from pathlib import Path

from threadpoolctl import ThreadpoolController


@lru_cache(maxsize=1)
def _other_pools() -> tuple[ThreadpoolController, tuple[str, ...]]:
    import scipy.linalg.blas  # noqa: F401  loads scipy's BLAS, so that it is listed

    controller = ThreadpoolController()
    paths = [lib.filepath for lib in controller.lib_controllers if lib.user_api == "blas"]
    # numpy's bundled copy lives in numpy.libs/ (numpy/.dylibs/ on macOS); its file name may say "scipy"
    mine = tuple(p for p in paths if "numpy" in Path(p).parent.as_posix().split("/site-packages/")[-1])
    return controller, mine if len(mine) < len(paths) else ()


@contextmanager
def numpy_blas_single() -> Iterator[None]:
    """Within the block, BLAS libraries other than scipy's (numpy's own copy) use one thread."""
    controller, others = _other_pools()
    limit = controller.select(filepath=list(others)).limit(limits=1) if others else nullcontext()
    with limit:
        yield

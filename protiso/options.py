"""What every job's options object shares: keyword changes, TOML tables and the defaults the CLI shows.

Each job has one frozen dataclass of options (``EmbedOptions``, ``IsotropyOptions``, ``AlignOptions``,
``ReportOptions``, ``ExportOptions``) holding every default once; the CLI, ``protiso run JOB.toml`` and
the Python API all build it. ``changed`` applies keyword changes, ``from_table`` reads a TOML table
(unknown keys and wrong types are one-line errors naming the key).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from protiso.errors import ProtisoError

T = TypeVar("T")


def changed(cls: type[T], options: T | None, changes: Mapping[str, Any]) -> T:
    """``options`` (default ``cls()``) with ``changes`` applied; a name that is no field is a TypeError."""
    base = cls() if options is None else options
    if not isinstance(base, cls):
        raise TypeError(f"expected {cls.__name__}, got {type(base).__name__}")
    unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise TypeError(f"{cls.__name__} has no option(s) {', '.join(unknown)}")
    return dataclasses.replace(base, **changes) if changes else base


def _accepts(hint: Any, value: Any) -> bool:
    """Whether a TOML value fits a field's type hint (int for float; a list of str for a tuple of str)."""
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(arg, value) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if isinstance(value, bool):
        return hint is bool
    if hint is float:
        return isinstance(value, (int, float))
    if origin in (tuple, list) or hint in (tuple, list):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        if isinstance(value, str):  # one item
            return bool(args) and args[0] is str
        return isinstance(value, list) and all(_accepts(args[0], item) for item in value if args)
    return isinstance(hint, type) and isinstance(value, hint)


def _kinds(hint: Any) -> str:
    args = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    names = []
    for arg in args:
        if arg is type(None):
            continue
        base = typing.get_origin(arg) or arg
        names.append("list" if base in (tuple, list) else getattr(base, "__name__", str(base)))
    return " or ".join(dict.fromkeys(names))


def from_table(cls: type[T], values: Mapping[str, Any], where: str, aliases: Mapping[str, str] | None = None,
               extra: tuple[str, ...] = ()) -> T:
    """``cls`` from a TOML table: keys are field names (or ``aliases``: key -> field; ``extra``: the table's
    other keys, named in the message); unknown keys and wrongly typed values are one-line ProtisoErrors."""
    aliases = dict(aliases or {})
    hints = typing.get_type_hints(cls)
    known = [*[f.name for f in dataclasses.fields(cls) if f.name not in aliases.values()], *aliases, *extra]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ProtisoError(f"{where} unknown key(s) {', '.join(unknown)}; known: {', '.join(known)}")
    out = {}
    for key, value in values.items():
        name = aliases.get(key, key)
        if not _accepts(hints[name], value):
            raise ProtisoError(f"{where} {key} must be {_kinds(hints[name])}; got {value!r}")
        out[name] = value
    try:
        return cls(**out)
    except TypeError as error:  # a required field left out
        raise ProtisoError(f"{where} {error}") from None


def default(cls: type, name: str) -> Any:
    """The default of field ``name`` (what the CLI shows in help)."""
    found = {f.name: f for f in dataclasses.fields(cls)}[name]
    if found.default is not dataclasses.MISSING:
        return found.default
    if found.default_factory is not dataclasses.MISSING:
        return found.default_factory()
    raise KeyError(f"{cls.__name__}.{name} has no default")


def whole_number(option: str, value: Any, minimum: int) -> None:
    """A one-line error unless ``value`` is a whole number (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ProtisoError(f"{option} must be a whole number >= {minimum}; got {value!r}")


def as_tuple(value: Any) -> tuple | None:
    """A sequence option as a tuple (a lone string is one item); None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(value)

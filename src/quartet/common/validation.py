"""Parameter validation at the boundary, in the manner of scikit-learn.

Every check raises ``ValueError`` with one line naming the parameter, the value and what is
allowed, e.g. ``invalid k=0: must be an integer >= 1``. The CLI prints exactly that line.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any, NoReturn


def fail(name: str, value: Any, allowed: str) -> NoReturn:
    """Raise the standard one-line ``ValueError`` for parameter ``name``."""
    raise ValueError(f"invalid {name}={value!r}: {allowed}")


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    allowed = list(allowed)
    if value not in allowed:
        fail(name, value, "must be one of " + ", ".join(repr(a) for a in allowed))
    return value


def _bounds_text(lo, hi, lo_incl=True, hi_incl=True) -> str:
    parts = []
    if lo is not None:
        parts.append(f"{'>=' if lo_incl else '>'} {lo}")
    if hi is not None:
        parts.append(f"{'<=' if hi_incl else '<'} {hi}")
    return " and ".join(parts)


def check_int(name: str, value: Any, *, min: int | None = None, max: int | None = None) -> int:
    """An integer (bools and floats with a fraction are refused) within [min, max]."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok and isinstance(value, float) and value.is_integer():
        ok, value = True, int(value)
    if not ok or (min is not None and value < min) or (max is not None and value > max):
        bounds = _bounds_text(min, max)
        fail(name, value, "must be an integer" + (f" {bounds}" if bounds else ""))
    return int(value)


def check_float(
    name: str,
    value: Any,
    *,
    min: float | None = None,
    max: float | None = None,
    min_inclusive: bool = True,
    max_inclusive: bool = True,
) -> float:
    """A finite real number within the given bounds."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and min is not None:
        ok = value >= min if min_inclusive else value > min
    if ok and max is not None:
        ok = value <= max if max_inclusive else value < max
    if not ok:
        bounds = _bounds_text(min, max, min_inclusive, max_inclusive)
        fail(name, value, "must be a finite number" + (f" {bounds}" if bounds else ""))
    return float(value)


def check_positive(name: str, value: Any) -> float:
    return check_float(name, value, min=0.0, min_inclusive=False)


def check_power_of_two(name: str, value: Any) -> int:
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1
    if not ok or (int(value) & (int(value) - 1)) != 0:
        fail(name, value, "must be a power of two (1, 2, 4, 8, ...)")
    return int(value)

"""Argument checks shared by the whole package.

Every check raises ``ValueError`` (or ``TypeError``) whose message names the
argument, the accepted range and the value received, e.g.
``kappa must be > 0 (accepted: (0, inf)), got -1.0``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["check_param", "check_positive_int"]

_BOUNDS = {
    "open": ("(", ")"),
    "closed": ("[", "]"),
    "left-open": ("(", "]"),
    "right-open": ("[", ")"),
}


def _describe(value) -> str:
    arr = np.asarray(value)
    if arr.ndim == 0:
        return repr(arr.item())
    return f"array with offending entries {arr.ravel()[:5].tolist()}"


def check_param(name: str, value, low: float = -np.inf, high: float = np.inf,
                interval: str = "open") -> np.ndarray:
    """Return ``value`` as a float array after checking ``low <op> value <op> high``.

    ``interval`` is one of ``"open"``, ``"closed"``, ``"left-open"``,
    ``"right-open"`` and says which ends are included.  NaN and infinite
    values are always rejected.
    """
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number or array of real numbers, "
                        f"got {value!r}") from None
    if np.iscomplexobj(np.asarray(value)):
        raise TypeError(f"{name} must be real, got complex value {value!r}")
    lb, rb = _BOUNDS[interval]
    accepted = f"{lb}{low:g}, {high:g}{rb}"
    bad = ~np.isfinite(arr)
    if lb == "(":
        bad |= arr <= low
    else:
        bad |= arr < low
    if rb == ")":
        bad |= arr >= high
    else:
        bad |= arr > high
    if np.any(bad):
        offending = arr[bad] if arr.ndim else arr
        raise ValueError(f"{name} must be finite and in {accepted}, "
                         f"got {_describe(offending)}")
    return arr


def check_positive_int(name: str, value, minimum: int = 1) -> int:
    """Return ``value`` as an ``int`` after checking it is an integer >= ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)

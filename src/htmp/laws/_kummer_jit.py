"""Optional compiled Taylor walk for :mod:`htmp.laws._kummer` (numba).

A table build is dominated by the walk's Taylor steps (~25 us each in Python, 35-3000 steps
a table) and by the series of every centre: 3-15 ms in Python, 0.3-1 ms compiled.  The
compiled functions (:mod:`._kummer_numba`) repeat the Python ones operation for operation;
tests build tables both ways and compare them.

numba is optional (``pip install "htmp[fast]"``).  :func:`load` imports it on the first
table build, not at ``import htmp`` (numba's import costs ~0.4 s); it returns None without
numba or with ``HTMP_NO_JIT=1`` in the environment, and the Python walk runs instead.
Compiled code is cached on disk (numba's ``cache=True``): only the first process compiles
(~10 s); later ones load it (~0.2 s).
"""
from __future__ import annotations

import os

__all__ = ["load", "disabled", "warm_up"]

_state: dict = {}


def disabled() -> bool:
    """True when ``HTMP_NO_JIT`` asks for the pure-Python walk."""
    return os.environ.get("HTMP_NO_JIT", "").strip().lower() in ("1", "true", "yes")


def load():
    """The compiled module, or None (numba missing or disabled); imported once."""
    if disabled():
        return None
    if "mod" not in _state:
        try:
            from . import _kummer_numba as mod
        except ImportError:       # numba not installed (or broken): the Python walk
            mod = None
        _state["mod"] = mod
    return _state["mod"]


def warm_up() -> bool:
    """Compile (or load from numba's cache) every compiled path: build one table and
    evaluate it.  Returns False when the compiled walk is unavailable."""
    mod = load()
    if mod is None:
        return False
    import math

    from ._kummer import build_table
    table = build_table(0.5, 2.0, log_tail=30.0, log_underflow=80.0, phase_cap=2.5)
    x = table.x0[len(table.x0) // 2:len(table.x0) // 2 + 2].copy()
    table.logpdf(x), table.phase(x), table.logpdf_derivatives(x)
    args = (table.x0, table._mids, table.lcoef, table.logf0)
    mod.derivative_sums(*args, x, 1.0)                 # the profile likelihood's kernels
    for zc, w_cut, inverse, beyond in ((float(x[-1]), -1.0, False, False),
                                       (float(x[-1]), -1.0, True, False),
                                       (math.nan, 0.0, False, True)):
        mod.newton_scale(*args, table.pcoef, table.theta0, table.alpha, table.c, x,
                         float(x[0]), float(x[-1]), zc, w_cut, inverse, 0.0, -0.1, 0.1, 1e-5,
                         1e-300, 1, beyond, 0.0, 0.0)
    return True

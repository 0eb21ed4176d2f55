"""Structure names of the issue -> validated :mod:`htmp.ensembles` specs (MATH.md section 6.1).

``make_structure("block_diagonal", n=64, block_size=8)`` returns a
:class:`htmp.ensembles.BlockDiagonal` after checking that its parameters fit ``n``.
Accepted names (case-insensitive, ``-`` and ``_`` interchangeable):

| name | spec | parameters |
|---|---|---|
| ``diagonal`` | (a) :class:`~htmp.ensembles.Diagonal` | - |
| ``commuting_block_diagonal`` | (b) :class:`~htmp.ensembles.CommutingBlockDiagonal` | ``block_size`` d, n % d == 0 |
| ``block_diagonal`` | (c) :class:`~htmp.ensembles.BlockDiagonal` | ``block_size`` d, n % d == 0 |
| ``kronecker`` | (d) :class:`~htmp.ensembles.KroneckerLike` | ``factor_sizes=(m, d)``, m * d == n |
| ``symmetric`` | (e) :class:`~htmp.ensembles.Symmetric` | - |
| ``free_eigenvectors`` | (f) :class:`~htmp.ensembles.FreeEigenvectors` | ``k`` in 1..n |
"""
from __future__ import annotations

from ..ensembles import (
    BlockDiagonal,
    CommutingBlockDiagonal,
    Diagonal,
    FreeEigenvectors,
    KroneckerLike,
    Symmetric,
)

__all__ = ["STRUCTURES", "PRODUCT_FORMS", "LABEL_INVARIANT", "normalise_name", "make_structure",
           "check_n"]

STRUCTURES = ("diagonal", "commuting_block_diagonal", "block_diagonal", "kronecker",
              "symmetric", "free_eigenvectors")
#: classes whose Weyl factor is a product of |lambda_i - lambda_j| (Prop G.1 / Cor G.2 / Thm G.3)
PRODUCT_FORMS = ("diagonal", "block_diagonal", "symmetric", "free_eigenvectors")
#: classes whose V does not depend on the labelling (one labelling per sample suffices)
LABEL_INVARIANT = ("diagonal", "symmetric")

_PARAMS = {
    "diagonal": (),
    "commuting_block_diagonal": ("block_size",),
    "block_diagonal": ("block_size",),
    "kronecker": ("factor_sizes",),
    "symmetric": (),
    "free_eigenvectors": ("k",),
}


def normalise_name(structure) -> str:
    """Canonical structure name; ValueError listing the accepted names otherwise."""
    if isinstance(structure, str):
        key = structure.strip().lower().replace("-", "_")
        if key in STRUCTURES:
            return key
    raise ValueError(f"structure must be one of {', '.join(STRUCTURES)}, got {structure!r}")


def _int(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    value = int(value)
    if not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value}")
    return value


def check_n(n) -> int:
    """n must be an integer >= 2 (T and the fixed point need at least one pair)."""
    if isinstance(n, bool) or not hasattr(n, "__index__"):
        raise TypeError(f"n must be an integer >= 2, got {n!r}")
    if int(n) < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    return int(n)


def make_structure(structure, *, n, **params):
    """Validated ensembles spec for ``structure`` at size ``n``.

    Raises ValueError naming the argument and its accepted range for a missing,
    unexpected or out-of-range parameter (n not a multiple of ``block_size``,
    ``m * d != n``, ``k`` outside 1..n, unknown structure).
    """
    name = normalise_name(structure)
    n = check_n(n)
    expected = _PARAMS[name]
    extra = sorted(k for k, v in params.items() if v is not None and k not in expected)
    if extra:
        raise ValueError(f"structure {name!r} takes parameters {list(expected) or 'none'}, "
                         f"got unexpected {extra}")
    for p in expected:
        if params.get(p) is None:
            raise ValueError(f"structure {name!r} requires {p}= ({_HELP[p]}), got None")
    if name == "diagonal":
        return Diagonal()
    if name == "symmetric":
        return Symmetric()
    if name == "free_eigenvectors":
        return FreeEigenvectors(k=_int("k", params["k"], 1, n))
    if name == "kronecker":
        sizes = params["factor_sizes"]
        try:
            m, d = (int(s) for s in sizes)
        except (TypeError, ValueError):
            raise ValueError(f"factor_sizes must be a pair (m, d) of positive integers with "
                             f"m * d == n={n}, got {sizes!r}") from None
        if m < 1 or d < 1 or m * d != n:
            raise ValueError(f"factor_sizes must be a pair (m, d) of positive integers with "
                             f"m * d == n={n}, got {tuple(sizes)!r}")
        return KroneckerLike(block_size=d)
    d = _int("block_size", params["block_size"], 1, n)
    if n % d:
        raise ValueError(f"block_size must divide n={n} (accepted: divisors of {n}), got {d}")
    cls = BlockDiagonal if name == "block_diagonal" else CommutingBlockDiagonal
    return cls(block_size=d)


_HELP = {
    "block_size": "a divisor d of n",
    "factor_sizes": "a pair (m, d) with m * d == n",
    "k": "an integer in 1..n",
}

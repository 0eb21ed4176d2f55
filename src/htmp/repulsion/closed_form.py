"""Exact kappa* for the product-form Weyl factors (Prop G.1, Cor G.2, Thm G.3; MATH.md 6.2).

If ``V = prod_{(i,j) in P} |lambda_i - lambda_j|`` then exchangeability of q_kappa gives
``F(kappa) = 2|P| / (N - 1)`` for every kappa, hence ``kappa* = 2|P| / (N - 1)``:

* (a) diagonal: 0
* (c) block diagonal, blocks of size d: ``N (d - 1) / (N - 1)``
* (e) symmetric: ``N``
* (f) k free eigenvectors: ``k (k - 1) / (N - 1)``

(b) commuting block diagonal and (d) Kronecker-like have Weyl factors built from Euclidean
norms of difference vectors: no closed form is known; use :func:`htmp.repulsion.estimate_kappa`.
"""
from __future__ import annotations

from .structures import PRODUCT_FORMS, make_structure, normalise_name

__all__ = ["kappa_closed_form"]


def kappa_closed_form(structure, *, n, **structure_params) -> float:
    """kappa* = 2|P|/(N-1) for the product forms (a), (c), (e), (f).

    Parameters are those of :func:`htmp.repulsion.estimate_kappa` (``block_size``,
    ``k``).  Raises ValueError for ``commuting_block_diagonal`` and ``kronecker``.
    """
    name = normalise_name(structure)
    spec = make_structure(name, n=n, **structure_params)
    if name not in PRODUCT_FORMS:
        raise ValueError(f"structure {name!r} has no closed-form kappa (its Weyl factor is not a "
                         f"product of eigenvalue differences; closed forms exist only for "
                         f"{', '.join(PRODUCT_FORMS)}); use estimate_kappa({name!r}, n=...) instead")
    n = int(n)
    if name == "diagonal":
        return 0.0
    if name == "symmetric":
        return float(n)
    if name == "block_diagonal":
        return n * (spec.block_size - 1) / (n - 1)
    return spec.k * (spec.k - 1) / (n - 1)

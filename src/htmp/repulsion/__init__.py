"""Variational eigenvalue repulsion kappa of structured matrix classes (paper App. G, MATH.md 6).

* :func:`estimate_kappa` - Algorithm 1, the stochastic fixed point ``kappa* = F(kappa*)`` with
  ``F(kappa) = Cov_q(log V, T) / Var_q(T)`` and a CLT standard error (Prop G.5).
* :func:`kappa_closed_form` - ``2|P|/(N-1)`` for the product forms (Prop G.1, Cor G.2, Thm G.3).
* :mod:`~htmp.repulsion.structures` - structure names -> :mod:`htmp.ensembles` specs.
* :mod:`~htmp.repulsion.sampling` - batched samples of q_kappa and the statistic T.
"""
from .closed_form import kappa_closed_form
from .fixed_point import KAPPA_FLOOR, KappaEstimate, estimate_kappa, slope_estimate
from .sampling import log_pair_sum, sample_q_kappa, statistic_t
from .structures import PRODUCT_FORMS, STRUCTURES, make_structure

__all__ = [
    "estimate_kappa",
    "KappaEstimate",
    "kappa_closed_form",
    "slope_estimate",
    "KAPPA_FLOOR",
    "STRUCTURES",
    "PRODUCT_FORMS",
    "make_structure",
    "sample_q_kappa",
    "statistic_t",
    "log_pair_sum",
]

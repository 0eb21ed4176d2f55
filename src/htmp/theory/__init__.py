"""The paper's theory as tools.

* :func:`free_multiplicative` - mu_Sigma boxtimes rho, the free multiplicative convolution of
  Thm 4.3 / Prop 4.2 (Belinschi-Bercovici subordination solved on the real axis;
  docs/free_convolution.md).
* :mod:`~htmp.theory.scaling` - Prop 5.1's scaling law of ridge regression on HTMP features:
  the paper's exponent, the reconstruction's, the exact limiting loss and a simulator
  (docs/scaling.md).
"""
from . import scaling
from .free import FreeMultiplicative, FreeTableInfo, free_multiplicative

__all__ = ["FreeMultiplicative", "FreeTableInfo", "free_multiplicative", "scaling"]

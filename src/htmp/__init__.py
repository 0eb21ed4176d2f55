"""htmp - heavy-tailed random-matrix spectra of neural networks.

Implements the high-temperature Marchenko-Pastur (HTMP) theory of
Hodgkinson, Wang & Mahoney, *Models of Heavy-Tailed Mechanistic Universality* (ICML 2025).

Glossary (paper name -> what users of WeightWatcher know it as)
---------------------------------------------------------------
gamma   aspect ratio N/M of a weight matrix (N = min dim); WeightWatcher's Q = 1/gamma
kappa   eigenvalue-repulsion parameter of HTMP; kappa -> inf is Marchenko-Pastur
alpha   in :mod:`htmp.laws`, the Laguerre exponent of nu_{alpha,c}; WeightWatcher's
        ``alpha`` is a power-law exponent of the tail of the ESD, which for an
        inverse-HTMP spectrum is ``InverseHTMP.tail_index + 1`` (density exponent)
scale   sigma^2, the mean of MP/HTMP (WeightWatcher's sigma^2 of the MP fit)
"""
from . import fitting, laws, report, repulsion, theory
from .analysis import analyze
from .fitting import (
           esd,
           fit_htmp,
           fit_inverse_htmp,
           fit_invgamma,
           fit_lower_powerlaw,
           fit_mp,
           fit_powerlaw,
           phase,
)
from .laws import HTMP, InverseHTMP, MarchenkoPastur, TrinhTrinh
from .plotting import plot_layer
from .repulsion import estimate_kappa, kappa_closed_form
from .theory import free_multiplicative, scaling

__all__ = ["HTMP", "InverseHTMP", "MarchenkoPastur", "TrinhTrinh", "laws", "repulsion", "estimate_kappa",
           "kappa_closed_form",
           "fitting", "esd", "phase", "fit_mp", "fit_htmp", "fit_inverse_htmp", "fit_invgamma",
           "fit_powerlaw", "fit_lower_powerlaw", "analyze", "report", "plot_layer", "theory",
           "free_multiplicative", "scaling"]
__version__ = "0.1.0.dev0"

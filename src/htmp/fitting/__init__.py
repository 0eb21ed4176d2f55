"""Fitting spectra of real weight and feature matrices.

* :func:`esd` - the ESD of a weight matrix (eigenvalues of the N x N Gram matrix / M).
* :func:`fit_mp` - Marchenko-Pastur: sigma^2, bulk edges with a Tracy-Widom margin, spikes.
* :func:`fit_htmp` / :func:`fit_inverse_htmp` - kappa and scale by maximum likelihood.
* :func:`fit_invgamma` - inverse-Gamma law (edge of trained feature spectra).
* :func:`fit_powerlaw` - WeightWatcher-compatible Clauset tail fit (its ``alpha``).
* :func:`compare_mp_htmp` - MP vs HTMP (likelihood ratio, KS).
* :func:`phase` - the 5+1 phases of Martin & Mahoney from objective rules.

Every fit returns a frozen dataclass with ``status``/``message``; a failed fit has
NaN values and says why, it never invents a number.
"""
from .compare import Comparison, compare_mp_htmp
from .esd import ESDResult, esd
from .htmp_fit import HTMPFit, fit_htmp, fit_inverse_htmp
from .inverse_fit import InvGammaFit, fit_invgamma
from .mp_fit import MPFit, fit_mp, tw_edge
from .phases import PHASES, PhaseResult, phase
from .powerlaw_fit import PowerLawFit, fit_powerlaw

__all__ = [
    "esd", "ESDResult",
    "fit_mp", "MPFit", "tw_edge",
    "fit_htmp", "fit_inverse_htmp", "HTMPFit",
    "fit_invgamma", "InvGammaFit",
    "fit_powerlaw", "PowerLawFit",
    "compare_mp_htmp", "Comparison",
    "phase", "PhaseResult", "PHASES",
]

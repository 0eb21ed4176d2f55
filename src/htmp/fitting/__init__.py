"""Fitting spectra of real weight and feature matrices.

* :func:`esd` - the ESD of a weight matrix (eigenvalues of the N x N Gram matrix / M).
* :func:`fit_mp` - Marchenko-Pastur: sigma^2, bulk edges with a Tracy-Widom margin, spikes.
* :func:`fit_htmp` / :func:`fit_inverse_htmp` - kappa and scale by maximum likelihood.
* :func:`fit_invgamma` - inverse-Gamma law (edge of trained feature spectra).
* :func:`fit_powerlaw` - WeightWatcher-compatible Clauset tail fit (its ``alpha``).
* :func:`fit_lower_powerlaw` - P(X <= eps) ~ eps^exponent at the lower end (Clauset's
  method mirrored; gradient norms, Prop 5.2).
* :func:`compare_mp_htmp` - MP vs HTMP fitted the same way on one common set of eigenvalues
  (KS of each, log-likelihood ratio, fit quality, kappa with its 95 % interval).
* :func:`ww_metrics` - WeightWatcher's norm metrics (norm, log_norm, spectral_norm,
  stable_rank, alpha_weighted, log_alpha_norm) under its names and conventions.
* :func:`correlation_traps` - WeightWatcher's ``randomize``: the MP fit of the element-wise
  shuffled W and ``num_traps``.
* :func:`phase` - the 5+1 phases of Martin & Mahoney from that evidence (or "unresolved").

Every fit returns a frozen dataclass with ``status``/``message``; a failed fit has
NaN values and says why, it never invents a number.
"""
from ._results import (
    FitResult,
    as_eigenvalues,
    degenerate_note,
    fit_quality,
    ks_statistic,
    readonly_array,
)
from .compare import Comparison, compare_mp_htmp, ks_critical
from .esd import ESDResult, esd
from .htmp_fit import HTMPFit, fit_htmp, fit_inverse_htmp, kappa_mp
from .inverse_fit import InvGammaFit, fit_invgamma
from .lower_powerlaw import LowerPowerLawFit, fit_lower_powerlaw
from .mp_fit import MPFit, fit_mp, tw_edge
from .phases import LABELS, PHASES, UNRESOLVED, PhaseResult, phase
from .powerlaw_fit import PowerLawFit, fit_powerlaw
from .traps import CorrelationTraps, correlation_traps, randomize_weights
from .ww_metrics import WW_METRICS, WWMetrics, ww_metrics

__all__ = [
    "fit_lower_powerlaw", "LowerPowerLawFit",
    "FitResult", "as_eigenvalues", "degenerate_note", "fit_quality", "ks_statistic",
    "readonly_array", "esd", "ESDResult",
    "fit_mp", "MPFit", "tw_edge",
    "fit_htmp", "fit_inverse_htmp", "HTMPFit", "kappa_mp",
    "fit_invgamma", "InvGammaFit",
    "fit_powerlaw", "PowerLawFit",
    "compare_mp_htmp", "Comparison", "ks_critical",
    "ww_metrics", "WWMetrics", "WW_METRICS",
    "correlation_traps", "CorrelationTraps", "randomize_weights",
    "phase", "PhaseResult", "PHASES", "LABELS", "UNRESOLVED",
]

"""The 5+1 phases of Martin & Mahoney (paper Fig. 5.1) from objective rules (MATH.md section 9).

Evidence (:func:`_evidence`), computed on the ESD (eigenvalues of W Wᵀ / M):

* ``zero_fraction``: share of eigenvalues <= max(numerical-rank tolerance,
  ``ZERO_REL * mean(lambda)``).  The mean, not the median, is the reference: once
  more than half of the spectrum has collapsed the median is itself a zero;
* ``kappa``, ``ks_htmp``: maximum-likelihood HTMP fit with gamma fixed (spikes set aside);
* ``ks_mp``, ``n_spikes``: MP fit (Johnstone edge + 3 TW scales, spikes set aside);
* ``max_gap_ratio``: the largest gap between consecutive eigenvalues above the top of
  the MP bulk, in units of the TW margin (3 * s_TW).

Decision (:func:`_decide`), the first rule that fires:

1. **rank-collapse**: ``zero_fraction > ZERO_FRACTION``, or kappa < ``KAPPA_COLLAPSE``;
2. **heavy-tailed**: kappa < ``KAPPA_HEAVY``;
3. **bulk-decay**: kappa < ``KAPPA_DECAY`` and KS(HTMP) < KS(MP) (HTMP fits the bulk better);
4. otherwise the bulk is MP-like: **random-like** when no eigenvalue lies beyond the TW
   margin; **bulk+spikes** when the largest gap above the bulk exceeds ``GAP_FACTOR``
   TW margins; else **bleeding-out**.

The thresholds were calibrated by ``experiments/phase_calibration.py`` on simulated
labelled spectra (N = 500-1000, gamma in {0.25, 0.5}); ``docs/phases.md`` gives the
calibration and held-out confusion matrices and what the rules cannot distinguish.
None comes from the paper.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._results import FitResult, as_eigenvalues
from .esd import ESDResult, esd
from .htmp_fit import fit_htmp
from .mp_fit import fit_mp

__all__ = ["PHASES", "PhaseResult", "phase"]

PHASES = ("random-like", "bleeding-out", "bulk+spikes", "bulk-decay", "heavy-tailed",
          "rank-collapse")

ZERO_REL = 1e-6          # "near zero": lambda <= ZERO_REL * mean(lambda) (or the rank tolerance)
ZERO_FRACTION = 0.2      # rank collapse above this share of near-zero eigenvalues
KAPPA_COLLAPSE = 0.1     # ... or below this fitted kappa
KAPPA_HEAVY = 2.0        # heavy-tailed below this fitted kappa
KAPPA_DECAY = 100.0      # bulk-decay below this fitted kappa (if HTMP's KS beats MP's)
GAP_FACTOR = 10.0        # bulk+spikes if a gap above the bulk exceeds this many TW margins

_THRESHOLDS = ("ZERO_REL", "ZERO_FRACTION", "KAPPA_COLLAPSE", "KAPPA_HEAVY", "KAPPA_DECAY",
               "GAP_FACTOR")


@dataclass(frozen=True)
class PhaseResult(FitResult):
    """The phase name plus the evidence used; ``str(result)`` is the phase name."""

    phase: str
    reason: str
    zero_fraction: float
    kappa: float
    ks_htmp: float
    ks_mp: float
    n_spikes: int
    max_gap_ratio: float     # largest gap above the bulk edge / (margin * s_TW)
    gamma: float

    def __str__(self) -> str:
        return self.phase


def _thresholds(**override) -> dict:
    """The module thresholds as a dict (calibration passes overrides)."""
    thr = {k: globals()[k] for k in _THRESHOLDS}
    thr.update(override)
    return thr


def _as_spectrum(obj, gamma) -> tuple[ESDResult | np.ndarray, float]:
    if isinstance(obj, ESDResult):
        return obj, obj.gamma
    arr = np.asarray(getattr(obj, "eigenvalues", obj))
    if arr.ndim == 1:
        if gamma is None:
            raise ValueError("gamma is required when phase() gets bare eigenvalues, got None")
        return as_eigenvalues(arr, min_size=3), float(gamma)
    r = esd(arr)
    return r, r.gamma


def _zero_fraction(spec, zero_rel: float) -> float:
    x = np.asarray(getattr(spec, "eigenvalues", spec))
    tol = getattr(spec, "tol", len(x) * np.finfo(float).eps * float(np.max(x)))
    return float(np.mean(x <= max(tol, zero_rel * float(np.mean(x)))))


def _evidence(spec, g: float, zero_fraction: float, mp=None, h=None) -> dict:
    """Fit MP and (for gamma < 1) HTMP unless given; return the evidence of :class:`PhaseResult`."""
    bare = not isinstance(spec, ESDResult)
    if h is None and g < 1.0:
        h = fit_htmp(spec, gamma=g if bare else None)
    if mp is None:
        mp = fit_mp(spec, gamma=g if bare else None)
    ok = h is not None and h.status != "failed"
    x = np.sort(np.asarray(getattr(spec, "eigenvalues", spec)))
    above = x[x > mp.threshold]
    below = x[x <= mp.threshold]
    gap_ratio = 0.0
    if len(above) and len(below):
        gaps = np.diff(np.concatenate([below[-1:], above]))
        gap_ratio = float(gaps.max() / (mp.threshold - mp.edge_tw))
    return dict(zero_fraction=zero_fraction, kappa=h.kappa if ok else math.nan,
                ks_htmp=h.ks if ok else math.nan, ks_mp=mp.ks, n_spikes=mp.n_spikes,
                max_gap_ratio=gap_ratio, gamma=g)


def _decide(ev: dict, thr: dict) -> tuple[str, str]:
    """Apply the rules of the module docstring to the evidence; returns (phase, reason)."""
    zero, kappa = ev["zero_fraction"], ev["kappa"]
    if zero > thr["ZERO_FRACTION"]:
        return "rank-collapse", f"{zero:.1%} of eigenvalues are (near) zero"
    if math.isfinite(kappa):            # NaN: no HTMP fit (gamma = 1 or failed): MP rules only
        if kappa < thr["KAPPA_COLLAPSE"]:
            return "rank-collapse", f"kappa={kappa:.3g} < {thr['KAPPA_COLLAPSE']}"
        if kappa < thr["KAPPA_HEAVY"]:
            return "heavy-tailed", f"kappa={kappa:.3g} < {thr['KAPPA_HEAVY']}"
        if kappa < thr["KAPPA_DECAY"] and ev["ks_htmp"] < ev["ks_mp"]:
            return "bulk-decay", (f"kappa={kappa:.3g} < {thr['KAPPA_DECAY']} and "
                                  f"KS(HTMP)={ev['ks_htmp']:.3g} < KS(MP)={ev['ks_mp']:.3g}")
    n, gap = ev["n_spikes"], ev["max_gap_ratio"]
    if n == 0:
        return "random-like", "MP bulk, no eigenvalue beyond the TW margin"
    if gap > thr["GAP_FACTOR"]:
        return "bulk+spikes", f"{n} spike(s), gap {gap:.3g} TW margins > {thr['GAP_FACTOR']}"
    return "bleeding-out", f"{n} eigenvalue(s) just beyond the edge (gap {gap:.3g} TW margins)"


def phase(W_or_esd, *, gamma=None, mp_fit=None, htmp_fit=None) -> PhaseResult:
    """Classify a weight matrix, an :class:`ESDResult` or eigenvalues (with ``gamma=``).

    ``mp_fit`` / ``htmp_fit``: results of :func:`fit_mp` / :func:`fit_htmp` on the same
    spectrum, if already computed (the analysis pipeline passes them: no second fit).

    >>> import numpy as np
    >>> str(phase(np.random.default_rng(0).standard_normal((300, 600))))
    'random-like'
    """
    spec, g = _as_spectrum(W_or_esd, gamma)
    thr = _thresholds()
    zero = _zero_fraction(spec, thr["ZERO_REL"])
    if zero > thr["ZERO_FRACTION"]:     # decided by rule 1 alone: skip the fits
        nan = math.nan
        ev = dict(zero_fraction=zero, kappa=nan, ks_htmp=nan, ks_mp=nan, n_spikes=0,
                  max_gap_ratio=nan, gamma=g)
    else:
        ev = _evidence(spec, g, zero, mp=mp_fit, h=htmp_fit)
    name, reason = _decide(ev, thr)
    return PhaseResult(name, reason, **ev)

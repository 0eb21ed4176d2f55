"""The 5+1 phases of Martin & Mahoney (paper Fig. 5.1) from objective rules (MATH.md section 9).

Rules, applied in this order to the ESD (eigenvalues of W Wᵀ / M):

1. **rank-collapse** if the fraction of (near-)zero eigenvalues exceeds
   ``ZERO_FRACTION`` (zero: <= the ESD's numerical-rank tolerance, or
   < 1e-6 * median for a bare spectrum), or the fitted kappa < ``KAPPA_COLLAPSE``;
2. fit HTMP (spikes set aside) and MP (Johnstone edge + TW margin);
3. **heavy-tailed** if kappa < ``KAPPA_HEAVY``;
4. **bulk-decay** if kappa < ``KAPPA_DECAY`` and HTMP's KS distance is below MP's;
5. otherwise the bulk is MP-like: **random-like** without spikes; **bulk+spikes**
   when a gap above the bulk edge exceeds ``GAP_FACTOR`` TW margins (margin * s_TW);
   else **bleeding-out**.

The thresholds below were calibrated by ``experiments/phase_calibration.py``
(see ``docs/phases.md`` for the confusion matrix); none comes from the paper.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._results import FitResult, as_eigenvalues
from .esd import ESDResult, esd
from .htmp_fit import fit_htmp
from .mp_fit import fit_mp

__all__ = ["PHASES", "PhaseResult", "phase"]

PHASES = ("random-like", "bleeding-out", "bulk+spikes", "bulk-decay", "heavy-tailed",
          "rank-collapse")

ZERO_FRACTION = 0.05
KAPPA_COLLAPSE = 0.1
KAPPA_HEAVY = 2.0
KAPPA_DECAY = 100.0
GAP_FACTOR = 5.0


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


def _as_esd(obj, gamma) -> tuple[ESDResult | np.ndarray, float, float]:
    if isinstance(obj, ESDResult):
        return obj, obj.zero_fraction, obj.gamma
    arr = np.asarray(getattr(obj, "eigenvalues", obj))
    if arr.ndim == 1:
        x = as_eigenvalues(arr, min_size=3)
        if gamma is None:
            raise ValueError("gamma is required when phase() gets bare eigenvalues, got None")
        zero = np.mean(x < 1e-6 * np.median(x)) if np.median(x) > 0 else np.mean(x == 0)
        return x, float(zero), float(gamma)
    r = esd(arr)
    return r, r.zero_fraction, r.gamma


def phase(W_or_esd, *, gamma=None) -> PhaseResult:
    """Classify a weight matrix, an :class:`ESDResult` or eigenvalues (with ``gamma=``)."""
    spec, zero, g = _as_esd(W_or_esd, gamma)
    nan = float("nan")
    if zero > ZERO_FRACTION:
        return PhaseResult("rank-collapse", f"{zero:.1%} of eigenvalues are (near) zero",
                           zero, nan, nan, nan, 0, nan, g)
    if g >= 1.0:          # HTMP needs gamma < 1: use the MP rules only for square matrices
        h = None
    else:
        h = fit_htmp(spec, gamma=g if not isinstance(spec, ESDResult) else None)
    mp = fit_mp(spec, gamma=g if not isinstance(spec, ESDResult) else None)
    kappa = h.kappa if h is not None else nan
    ks_h = h.ks if h is not None else nan
    x = np.sort(np.asarray(getattr(spec, "eigenvalues", spec)))
    above = x[x > mp.threshold]
    bulk_top = x[x <= mp.threshold][-1] if np.any(x <= mp.threshold) else nan
    gaps = np.diff(np.concatenate([[bulk_top], above])) if len(above) else np.empty(0)
    gap_ratio = float(gaps.max() / (mp.threshold - mp.edge_tw)) if len(gaps) else 0.0
    ev = dict(zero_fraction=zero, kappa=kappa, ks_htmp=ks_h, ks_mp=mp.ks,
              n_spikes=mp.n_spikes, max_gap_ratio=gap_ratio, gamma=g)
    if h is not None and h.status != "failed":
        if kappa < KAPPA_COLLAPSE:
            return PhaseResult("rank-collapse", f"kappa={kappa:.3g} < {KAPPA_COLLAPSE}", **ev)
        if kappa < KAPPA_HEAVY:
            return PhaseResult("heavy-tailed", f"kappa={kappa:.3g} < {KAPPA_HEAVY}", **ev)
        if kappa < KAPPA_DECAY and ks_h < mp.ks:
            return PhaseResult("bulk-decay", f"kappa={kappa:.3g} < {KAPPA_DECAY} and "
                               f"KS(HTMP)={ks_h:.3g} < KS(MP)={mp.ks:.3g}", **ev)
    if mp.n_spikes == 0:
        return PhaseResult("random-like", "MP bulk, no eigenvalue beyond the TW margin", **ev)
    if gap_ratio > GAP_FACTOR:
        return PhaseResult("bulk+spikes", f"{mp.n_spikes} spike(s), gap {gap_ratio:.3g} "
                           f"TW margins", **ev)
    return PhaseResult("bleeding-out", f"{mp.n_spikes} eigenvalue(s) just beyond the edge", **ev)

"""The 5+1 phases of Martin & Mahoney (paper Fig. 5.1) from the MP-vs-HTMP evidence.

Evidence, computed on the ESD (eigenvalues of W Wᵀ / M):

* ``zero_fraction``: share of eigenvalues <= max(numerical-rank tolerance,
  ``ZERO_REL * mean(lambda)``);
* ``top_share``: share of the trace held by the top ceil(5 %) of the eigenvalues;
* the same-data comparison :func:`~htmp.fitting.compare_mp_htmp`: ``mp_ks``, ``htmp_ks``,
  ``loglik_ratio``, ``kappa`` with its interval, ``fit_quality`` (KS of the preferred law
  against its 95 % critical value ``ks_crit``);
* ``n_spikes`` (MP fit: beyond Johnstone's edge + 3 TW scales) and ``max_gap_ratio``: the
  largest gap between consecutive eigenvalues above the MP bulk, in TW margins (3 s_TW).

Decision (:func:`_decide`), the first rule that fires:

1. **rank-collapse**: ``zero_fraction > ZERO_FRACTION``, or (at least ``MIN_ENERGY_EVALS``
   eigenvalues and) ``top_share > TOP_SHARE``: most of the trace in a few eigenvalues above
   a shrunk bulk.  Never from a kappa bound.
2. HTMP beats MP on the same eigenvalues (``loglik_ratio >= LLR_MIN`` and
   ``htmp_ks < mp_ks``):
   **unresolved** if HTMP's KS exceeds its critical value (better than MP, but no fit);
   else **heavy-tailed** if kappa < ``KAPPA_HEAVY`` (or kappa is below the search range),
   else **bulk-decay**.
   (Before rule 2: **unresolved** when the positive eigenvalues are all equal, a point
   mass that neither law describes: an orthogonal matrix, a scaled identity.)
3. Otherwise MP stands: **unresolved** if MP's KS exceeds its critical value (neither law
   describes the layer); else **random-like** when no eigenvalue lies beyond the TW margin,
   **bulk+spikes** when the largest gap above the bulk exceeds ``GAP_FACTOR`` TW margins,
   else **bleeding-out**.

Which evidence stands behind "heavy-tailed": the HTMP law, following the paper (Fig. 5.1
(d)-(e): HTMP fits with finite, decreasing kappa; Prop. 5.3).  HTMP's upper tail is
Gamma-like (x^(alpha+2c) e^-x, MATH.md 2.7): kappa < 2 means a bulk at least twice as wide
as MP's (variance gamma (1 + 2/kappa)) with mass down to 0, not a proven power law.  The
power-law exponent ``alpha`` (WeightWatcher's) is reported beside it, not used.

Spectra with too few eigenvalues for a kappa (``compare.MIN_KAPPA_EVALS``) can only get
rules 1 and 3.  Thresholds: ``experiments/phase_calibration.py``, docs/phases.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import compare
from ._results import FitResult, as_eigenvalues, degenerate_note
from ._spectrum import tolerance_in_units
from .compare import Comparison, compare_mp_htmp
from .esd import ESDResult, esd
from .mp_fit import fit_mp

__all__ = ["PHASES", "LABELS", "UNRESOLVED", "PhaseResult", "phase"]

PHASES = ("random-like", "bleeding-out", "bulk+spikes", "bulk-decay", "heavy-tailed",
          "rank-collapse")
UNRESOLVED = "unresolved"       # neither law describes the layer: no phase is claimed
LABELS = PHASES + (UNRESOLVED,)

ZERO_REL = 1e-6          # "near zero": lambda <= ZERO_REL * mean(lambda) (or the rank tolerance)
ZERO_FRACTION = 0.4      # rank collapse above this share of near-zero eigenvalues
TOP_SHARE = 0.7          # ... or when the top ceil(5 %) eigenvalues hold more of the trace
MIN_ENERGY_EVALS = 50    # (the trace rule needs at least this many eigenvalues)
KAPPA_HEAVY = 2.0        # heavy-tailed below this fitted kappa (HTMP preferred)
GAP_FACTOR = 10.0        # bulk+spikes if a gap above the bulk exceeds this many TW margins
TOP_FRACTION = 0.05      # the "few" eigenvalues of top_share

_THRESHOLDS = ("ZERO_REL", "ZERO_FRACTION", "TOP_SHARE", "MIN_ENERGY_EVALS", "KAPPA_HEAVY",
               "GAP_FACTOR")


@dataclass(frozen=True)
class PhaseResult(FitResult):
    """The label plus the evidence used; ``str(result)`` is the label.

    ``phase`` is one of :data:`LABELS`; ``reason`` names the rule and the numbers that
    decided it.  ``fit_quality`` ("good"/"poor", "" when no fit was needed) is that of the
    law the label rests on.
    """

    phase: str
    reason: str
    fit_quality: str
    zero_fraction: float
    top_share: float
    kappa: float
    kappa_lo: float
    kappa_hi: float
    htmp_status: str
    mp_ks: float
    htmp_ks: float
    ks_crit: float
    loglik_ratio: float
    n_spikes: int
    n_set_aside: int
    max_gap_ratio: float
    gamma: float

    def __str__(self) -> str:
        return self.phase


def _thresholds(**override) -> dict:
    """The thresholds as a dict (calibration passes overrides); LLR_MIN lives in compare."""
    thr = {k: globals()[k] for k in _THRESHOLDS}
    thr["LLR_MIN"] = compare.LLR_MIN
    thr["MIN_KAPPA_EVALS"] = compare.MIN_KAPPA_EVALS
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


def _unit(x: np.ndarray) -> tuple[np.ndarray, int]:
    """(x / 2^e, e) with the largest in [1/2, 1) (exact): the evidence is computed in these
    units, so it is the same for 2^k x and sums of values near 1e308 do not overflow."""
    top = float(np.max(x)) if len(x) else 0.0
    e = math.frexp(top)[1] if top > 0 else 0
    return np.ldexp(x, -e), e


def _zero_fraction(spec, zero_rel: float) -> float:
    x, e = _unit(np.sort(np.asarray(getattr(spec, "eigenvalues", spec), dtype=float)))
    tol = tolerance_in_units(spec, x, e)
    return float(np.mean(x <= max(tol, zero_rel * float(np.mean(x)))))


def top_share(eigs) -> float:
    """Share of the trace held by the top ceil(5 %) of the eigenvalues."""
    x = _unit(np.sort(np.asarray(getattr(eigs, "eigenvalues", eigs), dtype=float)))[0]
    total = float(x.sum())
    k = max(1, math.ceil(TOP_FRACTION * len(x)))
    return float(x[-k:].sum() / total) if total > 0 else math.nan


def _gap_ratio(x: np.ndarray, mp) -> float:
    above = x[x > mp.threshold]
    below = x[x <= mp.threshold]
    if not (len(above) and len(below)):
        return 0.0
    gaps = np.diff(np.concatenate([below[-1:], above]))
    return float(gaps.max() / (mp.threshold - mp.edge_tw))


def _evidence(spec, g: float, mp=None, cmp: Comparison | None = None,
              zero_rel: float = ZERO_REL) -> dict:
    """Fit MP and the comparison unless given; return the evidence of :class:`PhaseResult`."""
    bare = not isinstance(spec, ESDResult)
    x = np.sort(np.asarray(getattr(spec, "eigenvalues", spec)))
    ev = dict(zero_fraction=_zero_fraction(spec, zero_rel), top_share=top_share(x), gamma=g,
              n=len(x), degenerate=_degenerate(spec))
    if mp is None:
        mp = fit_mp(spec, gamma=g if bare else None)
    if cmp is None:
        cmp = compare_mp_htmp(spec, gamma=g if bare else None, mp=mp)
    ev.update(kappa=cmp.kappa, kappa_lo=cmp.kappa_lo, kappa_hi=cmp.kappa_hi,
              htmp_status=cmp.htmp_status, mp_ks=cmp.mp_ks, htmp_ks=cmp.htmp_ks,
              ks_crit=cmp.ks_crit, loglik_ratio=cmp.loglik_ratio, n_set_aside=cmp.n_set_aside,
              n_used=cmp.n_used, n_pos=cmp.n_used + cmp.n_set_aside,
              n_spikes=mp.n_spikes if mp.status != "failed" else 0,
              max_gap_ratio=_gap_ratio(x, mp) if mp.status != "failed" else math.nan)
    return ev


def _degenerate(spec) -> str:
    """:func:`degenerate_note` of the eigenvalues above the zero tolerance."""
    x, e = _unit(np.sort(np.asarray(getattr(spec, "eigenvalues", spec), dtype=float)))
    return degenerate_note(x[x > tolerance_in_units(spec, x, e)])


def _k(v: float) -> str:
    return "inf" if v == math.inf else f"{v:.3g}"


def _kappa_text(ev) -> str:
    lo, hi = ev["kappa_lo"], ev["kappa_hi"]
    if ev["htmp_status"] == "at-lower-bound":
        return f"kappa below the search range (95 % upper limit {_k(hi)})"
    return f"kappa = {_k(ev['kappa'])} (95 % {_k(lo)}-{_k(hi)})"


def _decide(ev: dict, thr: dict) -> tuple[str, str, str]:
    """Apply the rules of the module docstring; returns (label, reason, fit_quality)."""
    zero, top = ev["zero_fraction"], ev["top_share"]
    if zero > thr["ZERO_FRACTION"]:
        return "rank-collapse", f"{zero:.1%} of eigenvalues are (near) zero > " \
                                f"{thr['ZERO_FRACTION']:.0%}", ""
    if ev["n"] >= thr["MIN_ENERGY_EVALS"] and top > thr["TOP_SHARE"]:
        k = max(1, math.ceil(TOP_FRACTION * ev["n"]))
        return "rank-collapse", (f"the top {k} eigenvalues hold {top:.1%} of the trace > "
                                 f"{thr['TOP_SHARE']:.0%} (a shrunk bulk under a few large "
                                 f"ones)"), ""
    if ev.get("degenerate"):
        return UNRESOLVED, ev["degenerate"], "poor"
    llr, ks_h, ks_mp, crit = ev["loglik_ratio"], ev["htmp_ks"], ev["mp_ks"], ev["ks_crit"]
    if ev["n_pos"] < thr["MIN_KAPPA_EVALS"]:
        llr = math.nan                   # too few eigenvalues: the kappa evidence is not used
    same = f"on the same {ev['n_used']} eigenvalues"
    if math.isfinite(llr) and llr >= thr["LLR_MIN"] and ks_h < ks_mp:
        beats = (f"HTMP beats MP {same} (log-likelihood ratio {llr:.3g} >= {thr['LLR_MIN']:g}, "
                 f"KS {ks_h:.3g} < {ks_mp:.3g})")
        if ks_h > crit:
            return UNRESOLVED, f"{beats} but does not fit them either (KS {ks_h:.3g} > " \
                               f"critical {crit:.3g})", "poor"
        if ev["htmp_status"] == "at-lower-bound" or ev["kappa"] < thr["KAPPA_HEAVY"]:
            return "heavy-tailed", f"{beats}; {_kappa_text(ev)} < {thr['KAPPA_HEAVY']:g}", "good"
        return "bulk-decay", f"{beats}; {_kappa_text(ev)} >= {thr['KAPPA_HEAVY']:g}", "good"
    why = ("no kappa fit (too few eigenvalues)" if not math.isfinite(llr) else
           f"HTMP not better by the margin (log-likelihood ratio {llr:.3g}, KS {ks_h:.3g} "
           f"vs MP {ks_mp:.3g})")
    if not math.isfinite(ks_mp):
        return UNRESOLVED, "no MP fit could be made", ""
    if ks_mp > crit:
        return UNRESOLVED, (f"neither law fits {same}: MP KS {ks_mp:.3g} > critical "
                            f"{crit:.3g}; {why}"), "poor"
    mp_ok = f"MP fits {same} (KS {ks_mp:.3g} <= {crit:.3g}); {why}"
    n, gap = ev["n_spikes"], ev["max_gap_ratio"]
    if n == 0:
        return "random-like", f"{mp_ok}; no eigenvalue beyond the TW margin", "good"
    if gap > thr["GAP_FACTOR"]:
        return "bulk+spikes", (f"{mp_ok}; {n} spike(s), gap {gap:.3g} TW margins > "
                               f"{thr['GAP_FACTOR']:g}"), "good"
    return "bleeding-out", (f"{mp_ok}; {n} eigenvalue(s) just beyond the edge (gap "
                            f"{gap:.3g} TW margins)"), "good"


_NAN_EVIDENCE = dict(kappa=math.nan, kappa_lo=math.nan, kappa_hi=math.nan, htmp_status="",
                     mp_ks=math.nan, htmp_ks=math.nan, ks_crit=math.nan,
                     loglik_ratio=math.nan, n_spikes=0, n_set_aside=0, n_used=0, n_pos=0,
                     max_gap_ratio=math.nan)


def phase(W_or_esd, *, gamma=None, mp_fit=None, comparison=None) -> PhaseResult:
    """Classify a weight matrix, an :class:`ESDResult` or eigenvalues (with ``gamma=``).

    ``mp_fit`` / ``comparison``: results of :func:`fit_mp` / :func:`compare_mp_htmp` on
    the same spectrum, if already computed (the analysis pipeline passes them).

    >>> import numpy as np
    >>> str(phase(np.random.default_rng(0).standard_normal((300, 600))))
    'random-like'
    """
    spec, g = _as_spectrum(W_or_esd, gamma)
    thr = _thresholds()
    zero = _zero_fraction(spec, thr["ZERO_REL"])
    if zero > thr["ZERO_FRACTION"]:     # decided by rule 1 alone: skip the fits
        x = np.asarray(getattr(spec, "eigenvalues", spec))
        ev = dict(_NAN_EVIDENCE, zero_fraction=zero, top_share=top_share(x), gamma=g,
                  n=len(x))
    else:
        ev = _evidence(spec, g, mp=mp_fit, cmp=comparison, zero_rel=thr["ZERO_REL"])
    name, reason, quality = _decide(ev, thr)
    fields = {k: ev[k] for k in PhaseResult.__dataclass_fields__ if k in ev}
    return PhaseResult(phase=name, reason=reason, fit_quality=quality, **fields)

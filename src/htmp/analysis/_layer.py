"""One layer -> one row: ESD, MP / HTMP / power-law fits and the phase, never raising."""
from __future__ import annotations

import math
import time

import numpy as np

from ..fitting import compare_mp_htmp, fit_mp, fit_powerlaw, phase
from ..fitting.esd import ScaleRangeError
from ._device import esd_on

__all__ = ["COLUMNS", "FITS", "INT_COLUMNS", "analyse_spec", "matrix_shape"]

FITS = ("mp", "htmp", "powerlaw")

# The first 23 are the documented table; the rest are evidence and per-fit statuses.
COLUMNS = ["name", "type", "shape", "N", "M", "gamma", "n_evals", "rank", "mp_scale",
           "mp_bulk_max", "n_spikes", "kappa", "kappa_lo", "kappa_hi", "mp_ks", "htmp_ks",
           "loglik_ratio", "fit_quality", "alpha", "xmin", "phase", "status", "message",
           "mp_threshold", "mp_status", "ks_crit", "n_used", "n_set_aside", "n_excess", "n_zero",
           "gamma_eff", "kappa_mp", "mp_limit_scale", "htmp_scale", "htmp_status", "top_share",
           "alpha_se", "alpha_ks", "n_tail", "powerlaw_status", "phase_reason", "seconds"]


# Columns in units of eigenvalues: empty for a layer whose eigenvalues float64 cannot hold.
SCALE_COLUMNS = ("mp_scale", "mp_bulk_max", "mp_threshold", "mp_limit_scale", "htmp_scale",
                 "xmin")

INT_COLUMNS = ["N", "M", "n_evals", "rank", "n_spikes", "n_used", "n_set_aside", "n_excess",
               "n_tail", "n_zero"]


def matrix_shape(shape: tuple, conv: str) -> tuple[int, int, int]:
    """(a, b, n_slices) of the matrices whose ESD is taken (htmp.esd's conv conventions)."""
    if len(shape) == 2:
        return shape[0], shape[1], 1
    k = int(np.prod(shape[2:]))
    if conv == "slices":
        return shape[0], shape[1], k
    return shape[0], shape[1] * k, 1


def _blank(spec, conv) -> dict:
    row = dict.fromkeys(COLUMNS, math.nan)
    a, b, k = matrix_shape(spec.shape, conv)
    N, M = min(a, b), max(a, b)
    row.update(name=spec.name, type=spec.kind, shape="x".join(map(str, spec.shape)), N=N, M=M,
               gamma=N / M, n_evals=N * k, rank=math.nan, n_spikes=math.nan, phase="",
               status="ok", message="", mp_status="", htmp_status="", powerlaw_status="",
               phase_reason="", fit_quality="")
    return row


def _fit_mp(r, row, notes, fits):
    mp = fits["mp"] = fit_mp(r)
    row.update(mp_scale=mp.scale, mp_bulk_max=mp.bulk_max, mp_threshold=mp.threshold,
               n_spikes=mp.n_spikes, mp_status=mp.status)
    if mp.message:
        notes.append(f"mp: {mp.message}")


def _fit_htmp(r, row, notes, fits):
    """MP and HTMP fitted the same way on one common set (compare_mp_htmp)."""
    c = fits["htmp"] = compare_mp_htmp(r, mp=fits.get("mp"))
    row.update(kappa=c.kappa, kappa_lo=c.kappa_lo, kappa_hi=c.kappa_hi, mp_ks=c.mp_ks,
               htmp_ks=c.htmp_ks, ks_crit=c.ks_crit, loglik_ratio=c.loglik_ratio,
               fit_quality=c.fit_quality,
               n_used=c.n_used, n_set_aside=c.n_set_aside, n_excess=c.n_excess,
               gamma_eff=c.gamma_eff, kappa_mp=c.kappa_mp, mp_limit_scale=c.mp_scale,
               htmp_scale=c.htmp_scale, htmp_status=c.htmp_status)
    if c.message:
        notes.append(f"htmp: {c.message}")


def _fit_powerlaw(r, row, notes, fits):
    pl = fit_powerlaw(r, min_value=1e-5 / r.M)     # WeightWatcher's EVALS_THRESH before / M
    row.update(alpha=pl.alpha, xmin=pl.xmin, alpha_se=pl.alpha_se, alpha_ks=pl.ks,
               n_tail=pl.n_tail, powerlaw_status=pl.status)
    if pl.message:
        why = " (WeightWatcher's absolute threshold 1e-5 / M)" if pl.n_used < 2 else ""
        notes.append(f"powerlaw: {pl.message}{why}")


def _fit_phase(r, row, notes, fits):
    p = phase(r, mp_fit=fits.get("mp"), comparison=fits.get("htmp"))   # reuse, don't refit
    row.update(phase=p.phase, phase_reason=p.reason, top_share=p.top_share)


_STEPS = {"mp": _fit_mp, "htmp": _fit_htmp, "powerlaw": _fit_powerlaw, "phase": _fit_phase}


def _as_matrix(arr: np.ndarray) -> np.ndarray:
    return arr[:, :, None, :] if arr.ndim == 3 else arr   # conv1d (out, in, k) -> 4-D


def analyse_spec(spec, *, min_evals: int, steps: tuple, conv: str,
                 device: str = "cpu", max_evals: int | None = None) -> tuple[dict, np.ndarray | None]:
    """(row, eigenvalues) of one weight; a failure is recorded in ``status``/``message``.

    Never raises for a bad layer; ``eigenvalues`` (ascending, read-only) is None when the
    layer was skipped or could not be read.
    """
    t0 = time.perf_counter()
    row = _blank(spec, conv)
    if row["n_evals"] < min_evals:
        row.update(status="skipped", message=f"{row['n_evals']} eigenvalue(s) < "
                                             f"min_evals={min_evals}")
        return row, None
    if max_evals is not None and row["n_evals"] > max_evals:     # before reading any data
        row.update(status="skipped", message=f"{row['n_evals']} eigenvalues > max_evals="
                                             f"{max_evals} (raise max_evals to analyse it)")
        return row, None
    exponent = None
    try:
        r = esd_on(_as_matrix(spec.load()), conv=conv, device=device)
    except ScaleRangeError as err:     # analyse 2^-e W: the verdicts do not depend on scale
        r, exponent = err.normalised, err.exponent
    except Exception as err:    # one unreadable / non-finite layer must not stop the others
        row.update(status="failed", message=f"{type(err).__name__}: {err}",
                   seconds=time.perf_counter() - t0)
        return row, None
    row.update(n_evals=len(r.eigenvalues), rank=r.rank, n_zero=r.n_zero)
    notes, failed, fits = [], [], {}
    for step in steps:
        try:
            _STEPS[step](r, row, notes, fits)
        except Exception as err:  # a fit that raises is reported, the other fits still run
            failed.append(step)
            notes.append(f"{step}: {type(err).__name__}: {err}")
    statuses = [row["mp_status"], row["htmp_status"], row["powerlaw_status"]]
    if failed or "failed" in statuses:
        row["status"] = "partial"
    if exponent is not None:
        row.update(dict.fromkeys(SCALE_COLUMNS, math.nan))
        notes.insert(0, f"W's eigenvalues lie beyond float64 (W = 2^{exponent} x W', largest "
                        f"|entry| of W' in [1/2, 1)): analysed as W'; the scale columns "
                        f"({', '.join(SCALE_COLUMNS)}) are empty, kappa, the KS distances, "
                        f"alpha and the phase do not depend on the scale")
    row.update(message="; ".join(notes), seconds=time.perf_counter() - t0)
    return row, (r.eigenvalues if exponent is None else None)

"""One layer -> one row: ESD, MP / HTMP / power-law fits and the phase, never raising."""
from __future__ import annotations

import math
import time
import zlib

import numpy as np

from ..fitting import compare_mp_htmp, fit_mp, fit_powerlaw, phase
from ..fitting.esd import ScaleRangeError
from ..fitting.traps import randomize_weights, traps_of
from ..fitting.ww_metrics import WW_METRICS, ww_metrics
from ._device import esd_on

__all__ = ["COLUMNS", "FITS", "INT_COLUMNS", "TRAP_COLUMNS", "analyse_spec", "matrix_shape"]

FITS = ("mp", "htmp", "powerlaw")

# The first 23 are the documented table; the rest are evidence and per-fit statuses.
COLUMNS = ["name", "type", "shape", "N", "M", "gamma", "n_evals", "rank", "mp_scale",
           "mp_bulk_max", "n_spikes", "kappa", "kappa_lo", "kappa_hi", "mp_ks", "htmp_ks",
           "loglik_ratio", "fit_quality", "alpha", "xmin", "phase", "status", "message",
           "mp_threshold", "mp_status", "ks_crit", "n_used", "n_set_aside", "n_excess", "n_zero",
           "gamma_eff", "kappa_mp", "mp_limit_scale", "htmp_scale", "htmp_status", "top_share",
           "alpha_se", "alpha_ks", "n_tail", "powerlaw_status", "phase_reason", "seconds",
           *WW_METRICS]

# Added after COLUMNS when analysed with randomize= (correlation traps, htmp.fitting.traps).
TRAP_COLUMNS = ["num_traps", "rand_mp_scale", "rand_mp_bulk_max", "rand_mp_threshold",
                "rand_lambda_max", "rand_mp_status"]


# Columns in units of eigenvalues: empty for a layer whose eigenvalues float64 cannot hold.
SCALE_COLUMNS = ("mp_scale", "mp_bulk_max", "mp_threshold", "mp_limit_scale", "htmp_scale",
                 "xmin", "norm", "log_norm", "spectral_norm", "log_spectral_norm",
                 "alpha_weighted", "log_alpha_norm", "rand_mp_scale", "rand_mp_bulk_max",
                 "rand_mp_threshold", "rand_lambda_max")

INT_COLUMNS = ["N", "M", "n_evals", "rank", "n_spikes", "n_used", "n_set_aside", "n_excess",
               "n_tail", "n_zero", "num_traps"]


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


def _ww_metrics(r, row, notes, fits):
    """WeightWatcher's norm metrics (htmp.fitting.ww_metrics), alpha from the power-law step."""
    m = ww_metrics(r, alpha=row["alpha"])
    row.update({k: getattr(m, k) for k in WW_METRICS})
    big = [k for k in ("norm", "spectral_norm") if not math.isfinite(row[k])]
    if big:              # M x eigenvalues beyond float64: no number; the logs hold them
        row.update(dict.fromkeys(big, math.nan))
        notes.append(f"ww_metrics: {' and '.join(big)} exceed float64 (see log_norm, "
                     f"log_spectral_norm)")


_STEPS = {"mp": _fit_mp, "htmp": _fit_htmp, "powerlaw": _fit_powerlaw, "phase": _fit_phase,
          "ww_metrics": _ww_metrics}


def layer_rng(seed: int, name: str) -> np.random.Generator:
    """The generator of one layer's shuffle: from the seed and the layer's name, so a row
    does not depend on the order (threads, Dask tasks) in which layers are analysed."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8", "surrogatepass"))])


def _traps(W, row, notes, *, seed, conv, device):
    """Correlation traps of W (randomize=): shuffle, ESD on ``device``, MP fit, count."""
    row.update(dict.fromkeys(TRAP_COLUMNS, math.nan), rand_mp_status="")
    try:
        Wr = randomize_weights(W, rng=layer_rng(seed, row["name"]), conv=conv)
        try:
            r = esd_on(Wr, conv=conv, device=device)
        except ScaleRangeError as err:      # the count is scale-free; the scales are blanked
            r = err.normalised
        t = traps_of(r)
    except Exception as err:     # noqa: BLE001 - reported in the row, the layer goes on
        row["rand_mp_status"] = "failed"
        notes.append(f"traps: {type(err).__name__}: {err}")
        return
    row.update(rand_mp_scale=t.mp.scale, rand_mp_bulk_max=t.mp.bulk_max,
               rand_mp_threshold=t.mp.threshold, rand_lambda_max=t.lambda_max,
               rand_mp_status=t.mp.status,
               num_traps=math.nan if t.num_traps is None else t.num_traps)
    if t.message:
        notes.append(f"traps: {t.message}")


def _as_matrix(arr: np.ndarray) -> np.ndarray:
    return arr[:, :, None, :] if arr.ndim == 3 else arr   # conv1d (out, in, k) -> 4-D


def analyse_spec(spec, *, min_evals: int, steps: tuple, conv: str,
                 device: str = "cpu", max_evals: int | None = None,
                 randomize: int | None = None) -> tuple[dict, np.ndarray | None]:
    """(row, eigenvalues) of one weight; a failure is recorded in ``status``/``message``.

    Never raises for a bad layer; ``eigenvalues`` (ascending, read-only) is None when the
    layer was skipped or could not be read.  ``randomize``: a seed, to add the correlation
    traps (TRAP_COLUMNS) of W shuffled by :func:`layer_rng` (None: no traps columns).
    """
    t0 = time.perf_counter()
    row = _blank(spec, conv)
    if randomize is not None:
        row.update(dict.fromkeys(TRAP_COLUMNS, math.nan), rand_mp_status="")
    if row["n_evals"] < min_evals:
        row.update(status="skipped", message=f"{row['n_evals']} eigenvalue(s) < "
                                             f"min_evals={min_evals}")
        return row, None
    if max_evals is not None and row["n_evals"] > max_evals:     # before reading any data
        row.update(status="skipped", message=f"{row['n_evals']} eigenvalues > max_evals="
                                             f"{max_evals} (raise max_evals to analyse it)")
        return row, None
    exponent = W = None
    try:
        W = _as_matrix(spec.load())
        r = esd_on(W, conv=conv, device=device)
    except ScaleRangeError as err:     # analyse 2^-e W: the verdicts do not depend on scale
        r, exponent = err.normalised, err.exponent
    except Exception as err:    # one unreadable / non-finite layer must not stop the others
        row.update(status="failed", message=f"{type(err).__name__}: {err}",
                   seconds=time.perf_counter() - t0)
        return row, None
    if randomize is None:
        W = None                 # the weight is not held while the fits run
    row.update(n_evals=len(r.eigenvalues), rank=r.rank, n_zero=r.n_zero)
    notes, failed, fits = [], [], {}
    for step in steps + ("ww_metrics",):
        try:
            _STEPS[step](r, row, notes, fits)
        except Exception as err:  # a fit that raises is reported, the other fits still run
            failed.append(step)
            notes.append(f"{step}: {type(err).__name__}: {err}")
    if W is not None:
        _traps(W, row, notes, seed=randomize, conv=conv, device=device)
        W = None
    statuses = [row["mp_status"], row["htmp_status"], row["powerlaw_status"],
                row.get("rand_mp_status", "")]
    if failed or "failed" in statuses:
        row["status"] = "partial"
    if exponent is not None:
        scale_cols = [c for c in SCALE_COLUMNS if c in row]
        row.update(dict.fromkeys(scale_cols, math.nan))
        notes.insert(0, f"W's eigenvalues lie beyond float64 (W = 2^{exponent} x W', largest "
                        f"|entry| of W' in [1/2, 1)): analysed as W'; the scale columns "
                        f"({', '.join(scale_cols)}) are empty, kappa, the KS distances, "
                        f"alpha, stable_rank, num_traps and the phase do not depend on the "
                        f"scale")
    row.update(message="; ".join(notes), seconds=time.perf_counter() - t0)
    return row, (r.eigenvalues if exponent is None else None)

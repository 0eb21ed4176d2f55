"""Calibrate the thresholds of ``htmp.phase`` on simulated, labelled spectra.

Run: ``python experiments/phase_calibration.py [--quick] [--jobs K]`` (K worker processes for
the sample loop, default 2).  Writes ``experiments/out/phase_calibration.md`` and
``experiments/out/phase_evidence.json`` (every sample: its generator parameters and evidence;
``--quick`` writes ``*_quick.md`` / ``*_quick.json`` beside them instead).
Full run: 290 samples, about 2-3 min wall time with 2 jobs on 2 shared cores (3-5 min of
worker time in the sample loop, about 12 s for the grid search); ``--quick`` (3-6 samples per
group, 4 large): about 15-30 s.

Samples
-------
Every sample draws from its own ``numpy.random.default_rng([group_index, seed])``: its shape
(N log-uniform in [48, 2000]; with probability 1/4 square, N = M, else gamma log-uniform in
[0.05, 1] and M = round(N / gamma); gamma = N / M is recorded), its generator parameters and
an overall scale 10^U(-2, 2) that multiplies the eigenvalues (W is multiplied by its square
root).  The subclass of a group is ``subclasses[(seed // 2) % len(subclasses)]`` so every
subclass has as many even as odd seeds.  Spectra are either eigenvalues generated directly
(made into an :class:`htmp.fitting.ESDResult` with ``htmp.esd``'s zero tolerance
``M eps max(lambda)``: eigenvalues at or below it are set to 0 and counted in ``n_zero``,
as ``eigvalsh`` of a real Gram matrix would give) or ``htmp.esd(W)`` of a real matrix W.

group (index)      label           subclass: generator
random-like (0)    random-like     wishart: exact real-Wishart eigenvalues
                                   (``beta_wishart_eigvals(N, M, beta=1)/M``)
bleeding-out (1)   bleeding-out    bbp: real W = Sigma^(1/2) Z (Z Gaussian N x M), 1-3
                                   covariance spikes just above the BBP threshold, placed so
                                   that the asymptotic outlier l + gamma l/(l-1) lies 6-20
                                   Tracy-Widom scales (``tw_edge``) beyond (1 + sqrt gamma)^2;
                                   gamma log-uniform in [0.05, 0.9] (never square), N <= 1500
bulk+spikes (2)    bulk+spikes     moderate: real spiked W, 2-5 spikes l log-uniform [3, 15];
                                   huge: real spiked W, 1-3 spikes l log-uniform [30, 300]
                                   ("MP bulk + a few huge spikes")
bulk-decay (3)     bulk-decay      htmp: finite-N HTMP, ``beta_wishart_eigvals(N, M,
                                   beta=kappa/N)`` (ESD -> HTMP(N/(M+1), kappa)), kappa
                                   log-uniform [3, 20]
heavy-tailed (4)   heavy-tailed    htmp: as bulk-decay with kappa log-uniform [0.2, 1.5];
                                   inverse-htmp: ``master_model_eigvals`` (InverseHTMP), survival
                                   tail index kappa/(2 gamma) - kappa/2 uniform in [1, 3]
                                   (gamma < 1: M >= N + 1);
                                   mp+pareto: Wishart eigenvalues of which a random 5-15 % are
                                   replaced by Pareto draws from the MP upper edge
                                   (1 + sqrt gamma)^2, survival index uniform in [1, 3]
rank-collapse (5)  rank-collapse   product: real W = A B / sqrt(r) + eps G, inner dimension
                                   r = 10-45 % of N, eps log-uniform [1e-5, 1e-3] (entries of
                                   A B / sqrt(r) have variance 1): many numerical zeros;
                                   shrunk-bulk: Wishart eigenvalues of an (N-k) x M matrix scaled
                                   to hold 0.5-5 % (log-uniform) of the trace, plus k = 5-15
                                   spikes log-uniform over one decade holding the rest;
                                   lowrank+noise: real W = A B / sqrt(k) + sigma G, rank
                                   k = 1-10 % of N, noise share sigma^2/(1+sigma^2) of the trace
                                   uniform in [1 %, 10 %]
small (6)          random-like /   N log-uniform [10, 30], gamma log-uniform [0.02, 0.5]:
                   bulk+spikes     wishart (as group 0) -> random-like; spiked: real spiked W
                                   with 1-3 spikes l log-uniform [10, 100] -> bulk+spikes
large (7)          random-like /   N = 4000, gamma log-uniform [0.5, 1] (1/4 square),
                   either HTMP     eigenvalues generated directly: wishart -> random-like;
                   phase           htmp-k2: HTMP kappa = 2 -> "heavy-tailed" or "bulk-decay"
                                   both count as correct (kappa = 2 is the boundary between
                                   the simulated heavy-tailed [0.2, 1.5] and bulk-decay [3, 20]
                                   ranges; the row shows that HTMP is found at that size)

Seeds 0..n-1 per group: n = 40 (42 for heavy-tailed and rank-collapse, 14 per subclass),
6 for large (4 wishart, 2 htmp-k2).

Evidence and calibration
------------------------
Per sample: ``fit_mp``, then ``compare_mp_htmp(spec, mp=mp, spike_share=s,
min_kappa_evals=3)`` for SPIKE_SHARE s in {0.05, 0.10} (one fit when both give the same
set-aside count), ``phases._evidence`` on each, and the zero fraction for ZERO_REL in
{1e-8, 1e-6, 1e-4}; generation and evidence are timed.  ``phases._decide`` masks the kappa
evidence below ``thr["MIN_KAPPA_EVALS"]`` positive eigenvalues.  Even seeds calibrate, odd
seeds are held out.  The grid (``GRID``: SPIKE_SHARE, LLR_MIN, KAPPA_HEAVY, GAP_FACTOR,
ZERO_FRACTION, TOP_SHARE, ZERO_REL, MIN_KAPPA_EVALS, MIN_ENERGY_EVALS) is
searched exhaustively on the calibration half by calling ``_decide`` on the stored evidence;
the objective is accuracy ("unresolved" counts as a miss), ties go to the point nearest the
library's defaults in summed |log| distance.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import htmp  # noqa: E402
from htmp.ensembles import beta_wishart_eigvals, master_model_eigvals  # noqa: E402
from htmp.fitting import ESDResult, phases  # noqa: E402
from htmp.fitting import compare as compare_mod  # noqa: E402
from htmp.fitting.compare import compare_mp_htmp  # noqa: E402
from htmp.fitting.mp_fit import fit_mp, tw_edge  # noqa: E402

OUT = Path(__file__).parent / "out"
PHASES = phases.PHASES
UNRESOLVED = phases.UNRESOLVED
BOUNDARY = "HTMP kappa=2 (boundary)"          # true-label row of the large htmp-k2 samples
ACCEPT = {BOUNDARY: ("heavy-tailed", "bulk-decay")}

# group name, subclasses, seeds (full run), seeds (--quick)
GROUPS = [
    ("random-like", ("wishart",), 40, 3),
    ("bleeding-out", ("bbp",), 40, 3),
    ("bulk+spikes", ("moderate", "huge"), 40, 4),
    ("bulk-decay", ("htmp",), 40, 3),
    ("heavy-tailed", ("htmp", "inverse-htmp", "mp+pareto"), 42, 6),
    ("rank-collapse", ("product", "shrunk-bulk", "lowrank+noise"), 42, 6),
    ("small", ("wishart", "spiked"), 40, 4),
    ("large", ("wishart", "htmp-k2"), 6, 4),
]
GROUP_INDEX = {g[0]: i for i, g in enumerate(GROUPS)}

SPIKE_SHARES = (0.05, 0.10)
ZERO_RELS = (1e-8, 1e-6, 1e-4)
GRID = dict(
    SPIKE_SHARE=[0.05, 0.1],
    LLR_MIN=[1.0, 2.0, 5.0, 10.0, 20.0, 50.0],
    KAPPA_HEAVY=[1.0, 1.5, 2.0, 3.0],
    GAP_FACTOR=[3.0, 5.0, 10.0, 20.0],
    ZERO_FRACTION=[0.1, 0.2, 0.3, 0.4],
    TOP_SHARE=[0.6, 0.7, 0.8, 0.9, 0.95],
    ZERO_REL=list(ZERO_RELS),
    MIN_KAPPA_EVALS=[20, 30, 50],
    MIN_ENERGY_EVALS=[20, 50, 100],
)
FIXED: dict = {}


def defaults() -> dict:
    """The library's current thresholds (plus SPIKE_SHARE from compare)."""
    thr = phases._thresholds()
    thr["SPIKE_SHARE"] = compare_mod.SPIKE_SHARE
    return thr


# ----------------------------------------------------------------------------------------
# generators
# ----------------------------------------------------------------------------------------

def _loguniform(rng, lo, hi, size=None):
    return np.exp(rng.uniform(math.log(lo), math.log(hi), size=size))


def _shape(rng, n_lo=48, n_hi=2000, g_lo=0.05, g_hi=1.0, p_square=0.25, n_fixed=None,
           min_excess=0):
    """(N, M): N log-uniform in [n_lo, n_hi] (or n_fixed); square with prob. p_square, else
    gamma log-uniform in [g_lo, g_hi] and M = round(N / gamma) (at least N + min_excess)."""
    N = int(n_fixed) if n_fixed else int(round(float(_loguniform(rng, n_lo, n_hi))))
    if p_square and rng.random() < p_square:
        return N, N
    gamma = float(_loguniform(rng, g_lo, g_hi))
    return N, max(int(round(N / gamma)), N + min_excess)


def _as_esd(lam, N, M) -> ESDResult:
    """ESDResult from eigenvalues, with htmp.esd's tolerance M eps max: values <= tol -> 0."""
    lam = np.sort(np.clip(np.asarray(lam, dtype=float), 0.0, None))
    tol = M * np.finfo(float).eps * float(lam[-1])
    lam = np.where(lam <= tol, 0.0, lam)
    n_zero = int(np.sum(lam == 0.0))
    lam.flags.writeable = False
    return ESDResult(eigenvalues=lam, gamma=N / M, N=N, M=M, rank=N - n_zero, n_zero=n_zero,
                     tol=float(tol), shape=(N, M), conv="flatten")


def _wishart(N, M, rng):
    """Exact eigenvalues of G Gᵀ / M, G real Gaussian N x M (ESD scale 1)."""
    return beta_wishart_eigvals(N, M, beta=1.0, rng=rng) / M


def _htmp_finite(N, M, kappa, rng):
    """beta-Wishart with beta = kappa/N, divided by beta M (mean eigenvalue 1): the finite-N
    HTMP(N/(M+1), kappa); N = M allowed."""
    beta = kappa / N
    return beta_wishart_eigvals(N, M, beta=beta, rng=rng) / (beta * M)


def _spiked_W(ells, N, M, rng):
    """Real W = Sigma^(1/2) Z with Sigma = diag(ells, 1, ..., 1), Z standard Gaussian N x M."""
    d = np.ones(N)
    d[:len(ells)] = ells
    W = rng.standard_normal((N, M))
    W *= np.sqrt(d)[:, None]
    return W


def _lowrank_W(N, M, r, noise, rng):
    """Real W = A B / sqrt(r) + noise G (A: N x r, B: r x M, G: N x M standard Gaussian)."""
    W = rng.standard_normal((N, M))
    W *= noise
    A = rng.standard_normal((N, r)) / math.sqrt(r)
    B = rng.standard_normal((r, M))
    W += A @ B
    return W


def _bbp_spike(gamma, excess):
    """Population spike l whose outlier l + gamma l/(l-1) lies `excess` above (1+sqrt g)^2."""
    s = math.sqrt(gamma)
    b = 2 * s + excess
    a = (b + math.sqrt(b * b - 4 * gamma)) / 2
    return 1 + a


def _outlier(l, gamma):
    """Asymptotic outlier location of a spike l above the BBP threshold (else the MP edge)."""
    return l + gamma * l / (l - 1) if l > 1 + math.sqrt(gamma) else (1 + math.sqrt(gamma)) ** 2


def simulate(group: str, seed: int):
    """One labelled sample: (ESDResult, label, subclass, params)."""
    gi = GROUP_INDEX[group]
    subs = GROUPS[gi][1]
    sub = subs[(seed // 2) % len(subs)]
    rng = np.random.default_rng([gi, seed])
    p: dict = {}
    lam = W = None
    label = group
    if group == "random-like":
        N, M = _shape(rng)
        lam = _wishart(N, M, rng)
    elif group == "bleeding-out":
        N, M = _shape(rng, n_hi=1500, g_hi=0.9, p_square=0)
        g = N / M
        _, s_tw = tw_edge(1.0, N, M)
        t = rng.uniform(6, 20, size=int(rng.integers(1, 4)))
        ells = [_bbp_spike(g, ti * s_tw) for ti in t]
        p.update(spikes=[round(x, 4) for x in ells], tw_beyond=[round(x, 2) for x in t],
                 bbp_threshold=1 + math.sqrt(g))
        W = _spiked_W(ells, N, M, rng)
    elif group == "bulk+spikes":
        N, M = _shape(rng)
        g = N / M
        if sub == "moderate":
            ells = _loguniform(rng, 3, 15, size=int(rng.integers(2, 6)))
        else:
            ells = _loguniform(rng, 30, 300, size=int(rng.integers(1, 4)))
        _, s_tw = tw_edge(1.0, N, M)
        edge = (1 + math.sqrt(g)) ** 2
        p.update(spikes=[round(float(x), 3) for x in ells],
                 tw_beyond=[round((_outlier(float(x), g) - edge) / s_tw, 1) for x in ells],
                 bulk_trace_share=(N - len(ells)) / (N - len(ells) + float(np.sum(ells))))
        W = _spiked_W(ells, N, M, rng)
    elif group == "bulk-decay":
        N, M = _shape(rng)
        kappa = float(_loguniform(rng, 3, 20))
        p.update(kappa=kappa)
        lam = _htmp_finite(N, M, kappa, rng)
    elif group == "heavy-tailed":
        if sub == "htmp":
            N, M = _shape(rng)
            kappa = float(_loguniform(rng, 0.2, 1.5))
            p.update(kappa=kappa)
            lam = _htmp_finite(N, M, kappa, rng)
        elif sub == "inverse-htmp":
            N, M = _shape(rng, p_square=0, min_excess=1)
            g = N / M
            tail = float(rng.uniform(1, 3))
            kappa = 2 * g * tail / (1 - g)         # tail = kappa/(2 gamma) - kappa/2
            p.update(kappa=kappa, tail_index=tail)
            lam = master_model_eigvals(N, gamma=g, kappa=kappa, rng=rng)
        else:
            N, M = _shape(rng)
            g = N / M
            frac = float(rng.uniform(0.05, 0.15))
            alpha = float(rng.uniform(1, 3))
            lam = _wishart(N, M, rng)
            m = max(1, int(round(frac * N)))
            idx = rng.choice(N, size=m, replace=False)
            edge = (1 + math.sqrt(g)) ** 2
            lam[idx] = edge * rng.random(m) ** (-1 / alpha)      # P(X > x) = (x/edge)^-alpha
            p.update(pareto_fraction=m / N, tail_index=alpha, pareto_start=edge)
    elif group == "rank-collapse":
        N, M = _shape(rng)
        if sub == "product":
            r = max(1, int(round(float(rng.uniform(0.10, 0.45)) * N)))
            eps = float(_loguniform(rng, 1e-5, 1e-3))
            p.update(rank=r, rank_fraction=r / N, noise=eps)
            W = _lowrank_W(N, M, r, eps, rng)
        elif sub == "shrunk-bulk":
            k = int(rng.integers(5, 16))
            share = float(_loguniform(rng, 0.005, 0.05))
            bulk = _wishart(N - k, M, rng)
            sp = _loguniform(rng, 1, 10, size=k)
            sp *= bulk.sum() * (1 - share) / share / sp.sum()
            lam = np.concatenate([bulk, sp])
            p.update(n_spikes=k, bulk_trace_share=share,
                     spikes_over_mean=[round(float(x / bulk.mean()), 1) for x in np.sort(sp)],
                     min_spike_over_edge=float(sp.min() / bulk.max()))
        else:
            k = max(1, int(round(float(rng.uniform(0.01, 0.10)) * N)))
            f = float(rng.uniform(0.01, 0.10))
            sigma = math.sqrt(f / (1 - f))
            p.update(rank=k, rank_fraction=k / N, noise_trace_share=f)
            W = _lowrank_W(N, M, k, sigma, rng)
    elif group == "small":
        N, M = _shape(rng, n_lo=10, n_hi=30, g_lo=0.02, g_hi=0.5, p_square=0)
        if sub == "wishart":
            label = "random-like"
            lam = _wishart(N, M, rng)
        else:
            label = "bulk+spikes"
            ells = _loguniform(rng, 10, 100, size=int(rng.integers(1, 4)))
            p.update(spikes=[round(float(x), 2) for x in ells])
            W = _spiked_W(ells, N, M, rng)
    elif group == "large":
        N, M = _shape(rng, g_lo=0.5, n_fixed=4000)
        if sub == "wishart":
            label = "random-like"
            lam = _wishart(N, M, rng)
        else:
            label = BOUNDARY
            p.update(kappa=2.0)
            lam = _htmp_finite(N, M, 2.0, rng)
    else:
        raise ValueError(group)
    scale = float(10 ** rng.uniform(-2, 2))
    p["scale"] = scale
    if W is not None:
        W *= math.sqrt(scale)
        spec = htmp.esd(W)
        p["source"] = "matrix"
    else:
        spec = _as_esd(np.asarray(lam) * scale, N, M)
        p["source"] = "eigenvalues"
    return spec, label, sub, p


# ----------------------------------------------------------------------------------------
# evidence
# ----------------------------------------------------------------------------------------

def _evidence_all(spec) -> tuple[dict, dict, dict]:
    """Evidence per SPIKE_SHARE (key str(s)), zero fraction per ZERO_REL (key str(z)), and
    diagnostics the rules do not use (share of the trace above the MP threshold)."""
    g = spec.gamma
    zeros = {str(z): phases._zero_fraction(spec, z) for z in ZERO_RELS}
    mp = fit_mp(spec)
    evs, by_k = {}, {}
    n_pos = int(np.sum(np.asarray(spec.eigenvalues) > spec.tol))
    for s in SPIKE_SHARES:
        k = min(mp.n_spikes if mp.status != "failed" else 0, int(s * n_pos))
        if k not in by_k:
            try:
                cmp = compare_mp_htmp(spec, mp=mp, spike_share=s, min_kappa_evals=3)
                ev = phases._evidence(spec, g, mp=mp, cmp=cmp, zero_rel=phases.ZERO_REL)
            except ValueError as exc:      # e.g. fewer than 3 positive eigenvalues
                x = np.asarray(spec.eigenvalues)
                ev = dict(phases._NAN_EVIDENCE, zero_fraction=zeros[str(phases.ZERO_REL)],
                          top_share=phases.top_share(x), gamma=g, n=len(x), error=str(exc))
            by_k[k] = ev
        evs[str(s)] = by_k[k]
    x = np.asarray(spec.eigenvalues)
    above = x[x > mp.threshold] if mp.status != "failed" else x[:0]
    diag = dict(spike_trace_share=float(above.sum() / x.sum()), mp_status=mp.status,
                mp_sigma2=mp.sigma2)
    return evs, zeros, diag


def _summary(spec) -> dict:
    x = np.asarray(spec.eigenvalues)
    pos = x[x > spec.tol]
    return dict(min_pos=float(pos[0]) if len(pos) else math.nan, median=float(np.median(x)),
                mean=float(np.mean(x)), max=float(x[-1]), n_zero=int(spec.n_zero))


def run_sample(task):
    group, seed = task
    t0 = time.perf_counter()
    spec, label, sub, params = simulate(group, seed)
    t1 = time.perf_counter()
    evs, zeros, diag = _evidence_all(spec)
    t2 = time.perf_counter()
    return dict(group=group, cls=label, subclass=sub, seed=seed, group_index=GROUP_INDEX[group],
                gamma=spec.gamma, N=spec.N, M=spec.M, params=params, spectrum=_summary(spec),
                zeros=zeros, ev=evs, diag=diag, t_gen=t1 - t0, t_evidence=t2 - t1)


def _cost(task):
    """Rough relative cost, to start the expensive samples first."""
    return {"large": 5, "rank-collapse": 3, "bleeding-out": 2, "bulk+spikes": 2}.get(task[0], 1)


def collect(quick: bool, jobs: int) -> list[dict]:
    tasks = [(name, seed) for name, _, n_full, n_quick in GROUPS
             for seed in range(n_quick if quick else n_full)]
    tasks.sort(key=_cost, reverse=True)
    rows = []
    t0 = time.perf_counter()
    if jobs <= 1:
        it = map(run_sample, tasks)
        pool = None
    else:
        pool = ProcessPoolExecutor(max_workers=jobs)
        it = pool.map(run_sample, tasks, chunksize=1)
    try:
        for i, row in enumerate(it, 1):
            rows.append(row)
            if i % 20 == 0 or i == len(tasks):
                print(f"  {i}/{len(tasks)} samples, {time.perf_counter() - t0:.0f} s",
                      flush=True)
    finally:
        if pool is not None:
            pool.shutdown()
    rows.sort(key=lambda r: (r["group_index"], r["seed"]))
    return rows


# ----------------------------------------------------------------------------------------
# decisions, grid search, tables
# ----------------------------------------------------------------------------------------

def evidence_for(row, thr) -> dict:
    """The evidence dict for thr's SPIKE_SHARE with the zero fraction at thr's ZERO_REL
    (cached on the row: the grid search asks for it millions of times)."""
    key = (str(thr["SPIKE_SHARE"]), str(thr["ZERO_REL"]))
    cache = row.setdefault("_ev_cache", {})
    if key not in cache:
        ev = dict(row["ev"][key[0]])
        ev["zero_fraction"] = row["zeros"][key[1]]
        cache[key] = ev
    return cache[key]


def decide(row, thr):
    return phases._decide(evidence_for(row, thr), thr)


def correct(row, label) -> bool:
    return label in ACCEPT.get(row["cls"], (row["cls"],))


def n_correct(rows, thr) -> int:
    return sum(correct(r, decide(r, thr)[0]) for r in rows)


def _log_dist(thr, base) -> float:
    return sum(abs(math.log(thr[k] / base[k])) for k in GRID)


def calibrate(rows) -> tuple[dict, int, int]:
    """Exhaustive grid on ``rows``; returns (best thresholds, its score, number of grid points
    reaching that score).  Ties go to the point nearest the defaults (summed |log| distance)."""
    base = defaults()
    scored = []
    for values in itertools.product(*GRID.values()):
        thr = dict(FIXED, **dict(zip(GRID, values)))
        scored.append((n_correct(rows, thr), -_log_dist(thr, base), thr))
    best = max(scored, key=lambda t: (t[0], t[1]))
    return best[2], best[0], sum(1 for t in scored if t[0] == best[0])


def true_rows(rows) -> list[str]:
    present = {r["cls"] for r in rows}
    return [c for c in PHASES if c in present] + ([BOUNDARY] if BOUNDARY in present else [])


COLS = list(PHASES) + [UNRESOLVED]


def confusion(rows, thr):
    truth = true_rows(rows)
    C = np.zeros((len(truth), len(COLS)), dtype=int)
    ok = np.zeros(len(truth), dtype=int)
    for r in rows:
        lab = decide(r, thr)[0]
        i = truth.index(r["cls"])
        C[i, COLS.index(lab)] += 1
        ok[i] += correct(r, lab)
    return truth, C, ok


def table(rows, thr) -> str:
    truth, C, ok = confusion(rows, thr)
    s = "| true \\ predicted | " + " | ".join(COLS) + " | accuracy |\n"
    s += "|---" * (len(COLS) + 2) + "|\n"
    for i, c in enumerate(truth):
        s += (f"| {c} | " + " | ".join(str(v) for v in C[i])
              + f" | {ok[i] / C[i].sum():.2f} ({ok[i]}/{C[i].sum()}) |\n")
    tot = int(ok.sum())
    s += f"\noverall accuracy {tot / C.sum():.3f} ({tot}/{C.sum()})\n"
    return s


def subclass_table(rows, thr) -> str:
    acc = defaultdict(lambda: [0, 0, Counter()])
    for r in rows:
        lab = decide(r, thr)[0]
        a = acc[(r["group"], r["subclass"], r["cls"])]
        a[0] += correct(r, lab)
        a[1] += 1
        if not correct(r, lab):
            a[2][lab] += 1
    s = "| group | subclass | label | correct | accuracy | misses |\n|---|---|---|---|---|---|\n"
    for (g, sub, c), (k, n, miss) in sorted(acc.items(), key=lambda t: GROUP_INDEX[t[0][0]]):
        m = ", ".join(f"{lab} {v}" for lab, v in miss.most_common())
        s += f"| {g} | {sub} | {c} | {k}/{n} | {k / n:.2f} | {m} |\n"
    return s


def _f(v, fmt=".3g") -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if v == math.inf:
        return "inf"
    return format(v, fmt)


def rule(ev, thr, label) -> str:
    """Which rule of ``_decide`` produced ``label`` (a short tag)."""
    if label == "rank-collapse":
        return "zero share" if ev["zero_fraction"] > thr["ZERO_FRACTION"] else "top share"
    llr = ev["loglik_ratio"] if ev["n_pos"] >= thr["MIN_KAPPA_EVALS"] else math.nan
    htmp_wins = math.isfinite(llr) and llr >= thr["LLR_MIN"] and ev["htmp_ks"] < ev["mp_ks"]
    if label == UNRESOLVED and not math.isfinite(ev["mp_ks"]):
        return "no MP fit"
    if label == UNRESOLVED:
        return "HTMP wins, KS > crit" if htmp_wins else "MP KS > crit"
    if label in ("heavy-tailed", "bulk-decay"):
        return "HTMP wins: kappa " + ("< " if label == "heavy-tailed" else ">= ") + \
            f"{thr['KAPPA_HEAVY']:g}"
    if label == "random-like":
        return "MP, no spike"
    return "MP, gap " + ("> " if label == "bulk+spikes" else "<= ") + f"{thr['GAP_FACTOR']:g}"


def miss_line(r, thr) -> str:
    ev = evidence_for(r, thr)
    lab, reason, _ = decide(r, thr)
    params = {k: v for k, v in r["params"].items() if k not in ("scale", "source")}
    return (f"- {r['group']}/{r['subclass']} seed {r['seed']} -> **{lab}** [{rule(ev, thr, lab)}]: "
            f"gamma={r['gamma']:.3g} N={r['N']} M={r['M']} {params}; "
            f"kappa={_f(ev['kappa'])} [{_f(ev['kappa_lo'])}, {_f(ev['kappa_hi'])}] "
            f"({ev['htmp_status']}), llr={_f(ev['loglik_ratio'])}, mp_ks={_f(ev['mp_ks'])}, "
            f"htmp_ks={_f(ev['htmp_ks'])}, ks_crit={_f(ev['ks_crit'])}, "
            f"top_share={_f(ev['top_share'])}, zero={_f(ev['zero_fraction'])}, "
            f"n_pos={ev['n_pos']}, n_spikes={ev['n_spikes']}, set_aside={ev['n_set_aside']}, "
            f"gap={_f(ev['max_gap_ratio'])}, trace share above MP threshold="
            f"{_f(r['diag']['spike_trace_share'])}; reason: {reason}")


def sensitivity(cal, held, thr) -> str:
    s = ("One threshold varied over its grid, the others at the calibrated values; "
         "correct on calibration / held-out halves (calibrated value in bold).\n\n"
         "| threshold | " + " | ".join(f"value {i + 1}" for i in range(5)) + " |\n"
         + "|---" * 6 + "|\n")
    for k, vals in GRID.items():
        cells = []
        for v in vals:
            t = dict(thr, **{k: v})
            cell = f"{v:g}: {n_correct(cal, t)}/{n_correct(held, t)}"
            cells.append(f"**{cell}**" if v == thr[k] else cell)
        cells += [""] * (5 - len(cells))
        s += f"| {k} | " + " | ".join(cells) + " |\n"
    return s + f"\n(calibration half {len(cal)} samples, held-out {len(held)})\n"


def _rng_txt(vals, fmt=".3g") -> str:
    v = [x for x in vals if x is not None and not (isinstance(x, float) and math.isnan(x))]
    if not v:
        return "-"
    return f"{_f(min(v), fmt)} - {_f(max(v), fmt)}"


def evidence_ranges(rows, thr) -> str:
    s = ("At the calibrated SPIKE_SHARE and ZERO_REL, all samples (both halves). kappa: "
         "point estimates (inf = MP-like, nan = at the lower bound or too few eigenvalues, "
         "counted separately).  Last column: share of the trace above the MP threshold "
         "(a diagnostic, not used by the rules).\n\n| group | subclass | n | kappa | "
         "kappa inf / nan | llr | top_share | zero fraction | gap (TW margins) | "
         "trace share above MP threshold |\n|---|---|---|---|---|---|---|---|---|---|\n")
    groups, diags = defaultdict(list), defaultdict(list)
    for r in rows:
        groups[(r["group"], r["subclass"])].append(evidence_for(r, thr))
        diags[(r["group"], r["subclass"])].append(r["diag"]["spike_trace_share"])
    for (g, sub), evs in sorted(groups.items(), key=lambda t: GROUP_INDEX[t[0][0]]):
        ks = [e["kappa"] for e in evs]
        fin = [k for k in ks if math.isfinite(k)]
        n_inf = sum(k == math.inf for k in ks)
        n_nan = sum(isinstance(k, float) and math.isnan(k) for k in ks)
        s += (f"| {g} | {sub} | {len(evs)} | {_rng_txt(fin)} | {n_inf} / {n_nan} | "
              f"{_rng_txt([e['loglik_ratio'] for e in evs])} | "
              f"{_rng_txt([e['top_share'] for e in evs])} | "
              f"{_rng_txt([e['zero_fraction'] for e in evs])} | "
              f"{_rng_txt([e['max_gap_ratio'] for e in evs])} | "
              f"{_rng_txt(diags[(g, sub)])} |\n")
    return s


def null_llr(rows) -> str:
    """LLR on the Wishart samples (both SPIKE_SHAREs), by N range and square/rectangular."""
    w = [r for r in rows if r["subclass"] == "wishart"]
    bins = [(10, 48), (48, 200), (200, 800), (800, 2001), (2001, 10 ** 6)]
    s = ("Log-likelihood ratio l(kappa_hat) - l(kappa_mp) on the Wishart samples (groups "
         "random-like, small, large; both halves; only spectra with >= 3 positive "
         "eigenvalues; the kappa evidence is used by the rules from MIN_KAPPA_EVALS on).\n\n"
         "| SPIKE_SHARE | subset | n | max | 95th pct | median | share >= 2 / 5 / 10 |\n"
         "|---|---|---|---|---|---|---|\n")
    for sh in SPIKE_SHARES:
        subsets = [(f"N in [{a}, {b - 1}]", [r for r in w if a <= r["N"] < b]) for a, b in bins]
        subsets += [("square", [r for r in w if r["N"] == r["M"]]),
                    ("rectangular", [r for r in w if r["N"] != r["M"]]),
                    ("all", w)]
        for name, sub in subsets:
            llr = np.array([r["ev"][str(sh)]["loglik_ratio"] for r in sub], dtype=float)
            llr = llr[np.isfinite(llr)]
            if not len(llr):
                continue
            s += (f"| {sh:g} | {name} | {len(llr)} | {llr.max():.3g} | "
                  f"{np.percentile(llr, 95):.3g} | {np.median(llr):.3g} | "
                  + " / ".join(f"{np.mean(llr >= c):.2f}" for c in (2, 5, 10)) + " |\n")
    return s


def timing(rows, t_total, t_grid) -> str:
    by = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
    for r in rows:
        b = by[(r["group"], r["subclass"])]
        b[0] += 1
        b[1] += r["t_gen"]
        b[2] += r["t_evidence"]
        b[3] = max(b[3], r["t_gen"] + r["t_evidence"])
    s = ("| group | subclass | n | generation s (total) | evidence s (total) | "
         "evidence s (mean) | slowest sample s |\n|---|---|---|---|---|---|---|\n")
    for (g, sub), (n, tg, te, mx) in sorted(by.items(), key=lambda t: GROUP_INDEX[t[0][0]]):
        s += f"| {g} | {sub} | {n} | {tg:.1f} | {te:.1f} | {te / n:.2f} | {mx:.1f} |\n"
    cpu = sum(r["t_gen"] + r["t_evidence"] for r in rows)
    return s + (f"\nSample loop: {cpu:.0f} s of worker time; grid search {t_grid:.0f} s; "
                f"total wall time {t_total:.0f} s.\n")


def _git_state() -> str:
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--short", "src/htmp/fitting"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}" + (f" (uncommitted changes in src/htmp/fitting: {dirty.split()})"
                        if dirty else " (src/htmp/fitting clean)")


def _jsonable(o):
    if isinstance(o, dict):
        return {k: _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, (np.floating, float)):
        o = float(o)
        return o if math.isfinite(o) else (None if math.isnan(o) else ("inf" if o > 0 else "-inf"))
    if isinstance(o, np.integer):
        return int(o)
    return o


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a handful of samples per group")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    args = ap.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    print(f"sampling ({'quick' if args.quick else 'full'}, {args.jobs} jobs) ...", flush=True)
    rows = collect(args.quick, args.jobs)
    cal = [r for r in rows if r["seed"] % 2 == 0]
    held = [r for r in rows if r["seed"] % 2 == 1]
    base = dict(defaults(), **FIXED)
    tg = time.perf_counter()
    thr, score, n_max = calibrate(cal)
    t_grid = time.perf_counter() - tg
    misses = [r for r in held if not correct(r, decide(r, thr)[0])]
    by_cause = defaultdict(list)
    for r in misses:
        lab = decide(r, thr)[0]
        by_cause[(r["group"], r["subclass"], lab, rule(evidence_for(r, thr), thr, lab))].append(r)
    t_total = time.perf_counter() - t0

    md = ["# Phase-threshold calibration (`experiments/phase_calibration.py`)\n",
          f"Mode: {'quick' if args.quick else 'full'}; {len(rows)} samples ({len(cal)} "
          f"calibration = even seeds, {len(held)} held out = odd seeds); code at git "
          f"{_git_state()}.\n",
          "Samples per group/subclass: " + ", ".join(
              f"{k[0]}/{k[1]} {v}" for k, v in Counter((r["group"], r["subclass"])
                                                       for r in rows).items()) + ".\n",
          "## Default thresholds, calibration half\n",
          "`" + json.dumps({k: base[k] for k in list(GRID) + list(FIXED)}) + "`\n",
          table(cal, base),
          "## Calibrated thresholds\n",
          "`" + json.dumps({k: thr[k] for k in list(GRID) + list(FIXED)}) + "`\n",
          f"Calibration score {score}/{len(cal)} (defaults {n_correct(cal, base)}/{len(cal)}); "
          f"{n_max} of {math.prod(len(v) for v in GRID.values())} grid points reach it (tie "
          f"broken towards the defaults, log distance {_log_dist(thr, base):.3g}).\n",
          "### Calibration half\n", table(cal, thr),
          "### Held-out half\n", table(held, thr),
          "### Held-out half, defaults (for comparison)\n", table(held, base),
          "### Held-out accuracy per subclass (calibrated thresholds)\n",
          subclass_table(held, thr),
          "### Held-out misses (calibrated thresholds), grouped by cause\n"]
    for (g, sub, lab, why), rs in sorted(by_cause.items(), key=lambda t: -len(t[1])):
        md.append(f"**{g}/{sub} -> {lab} [{why}]: {len(rs)}**\n")
        md.append("\n".join(miss_line(r, thr) for r in rs) + "\n")
    if not misses:
        md.append("(none)\n")
    md += ["## Sensitivity\n", sensitivity(cal, held, thr),
           "## Evidence ranges\n", evidence_ranges(rows, thr),
           "## Null distribution of the log-likelihood ratio (Wishart samples)\n",
           null_llr(rows),
           "## Run time\n", timing(rows, t_total, t_grid)]
    text = "\n".join(md)
    print(text)
    suffix = "_quick" if args.quick else ""
    md_path, json_path = OUT / f"phase_calibration{suffix}.md", OUT / f"phase_evidence{suffix}.json"
    md_path.write_text(text)
    clean = [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]
    json_path.write_text(json.dumps(_jsonable(dict(
        calibrated=thr, defaults=base, grid=GRID, rows=clean)), indent=1))
    print(f"wrote {md_path} and {json_path}; total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

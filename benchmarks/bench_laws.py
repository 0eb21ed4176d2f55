"""Throughput of the HTMP law (pdf, logpdf, cdf, ppf, rvs) vs scipy.stats.gamma.pdf and mpmath.

For each (gamma, kappa) - two typical settings and six corners of the domain - the script
builds a fresh ``HTMP(gamma=, kappa=)`` and measures, single process and side by side:

* **first call**: ``law.pdf(1.0)`` on a law never evaluated before; this builds the cached
  table of nu_{alpha,c} (the one-time cost per parameter set);
* **steady state** (table warm), in points per second:
  ``ppf`` on ``--n-ppf`` quantile levels q spaced uniformly in logit(q) over
  [1e-12, 1 - 1e-12] (so both tails down to 1e-12 are as well represented as the bulk);
  its output, refined to ``--n`` points by log-linear interpolation between consecutive
  quantiles, is the point set of ``pdf``, ``logpdf``, ``cdf`` and of ``scipy.stats.gamma.pdf``
  (the moment-matched gamma law, shape 1/var, scale var); ``cdf (bulk)`` is ``cdf`` on
  ``--n`` points between the 5 % and 95 % quantiles; ``rvs`` draws ``--n-ppf`` variates
  (inversion of uniform q, so mostly bulk points);
* **mpmath**: the density from ``mpmath.hyperu`` at dps 30 on ``--mpmath-points`` of the
  quantile points (MATH.md §2.1-2.2), in a child process stopped after ``--mpmath-budget``
  seconds per parameter set; failures are caught and reported.  The last column of table 2
  is the largest relative difference between HTMP.pdf and these mpmath values.

Times are the best of up to 3 runs (one run when a call takes over 2 s).  Nothing is
asserted: the output is two Markdown tables and a list of the warnings the law emitted.

Usage::

    python benchmarks/bench_laws.py                 # n = 1e6 (pdf/cdf), 1e5 (ppf/rvs); ~10 min
    python benchmarks/bench_laws.py --quick         # n = 1e5 / 1e4, 5 s of mpmath per set
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import queue
import subprocess
import time
import warnings

import numpy as np
import scipy
import scipy.stats
from scipy.special import expit, logit

from htmp import HTMP

TYPICAL = [(0.5, 2.0), (0.25, 8.0)]
CORNERS = [(0.01, 1000.0), (0.99, 0.01), (0.01, 0.01), (0.99, 1000.0), (0.5, 1000.0),
           (0.3, 0.05)]
METHODS = ["pdf", "logpdf", "cdf", "cdf (bulk)", "ppf", "rvs", "gamma.pdf"]


def timed(fn, repeat=3):
    """Best wall time of up to ``repeat`` calls (one call when it takes over 2 s) and the output."""
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        best = min(best, dt)
        if dt > 2.0:
            break
    return best, out


def refine(x, n):
    """n points by log-linear interpolation between the sorted positive points x."""
    x = np.sort(x[np.isfinite(x) & (x > 0)])
    u = np.linspace(0.0, x.size - 1.0, n)
    return np.exp(np.interp(u, np.arange(x.size), np.log(x)))


# -- mpmath reference, in a child process so that it can be stopped -------------------------
def _mp_worker(gamma, kappa, ys, out):
    import mpmath

    mpmath.mp.dps = 30
    alpha = mpmath.mpf(kappa) * (1 - mpmath.mpf(gamma)) / (2 * mpmath.mpf(gamma)) - 1
    c = mpmath.mpf(kappa) / 2
    s = 2 * mpmath.mpf(gamma) / mpmath.mpf(kappa)
    log_norm = mpmath.loggamma(c + 1) + mpmath.loggamma(c + alpha + 1)
    rot = mpmath.exp(-1j * mpmath.pi)                   # x e^{-i pi}: below the cut
    for i, y in enumerate(ys):
        t0 = time.perf_counter()
        try:
            x = mpmath.mpf(float(y)) / s
            u = mpmath.hyperu(c, -alpha, x * rot)
            logf = alpha * mpmath.log(x) - x - log_norm - 2 * mpmath.log(abs(u)) - mpmath.log(s)
            val, err = float(mpmath.exp(logf)), None
        except Exception as exc:                          # noqa: BLE001 - report any failure
            val, err = None, f"{type(exc).__name__}"
        out.put((i, val, err, time.perf_counter() - t0))
    out.put(None)


def mpmath_pdf(gamma, kappa, ys, budget):
    """(values or None, seconds per point, errors, timed_out) for the mpmath density."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    proc = ctx.Process(target=_mp_worker, args=(gamma, kappa, list(map(float, ys)), q))
    proc.start()
    vals = [None] * len(ys)
    secs, errors, timed_out = [], [], False
    deadline = time.perf_counter() + budget
    while True:
        try:
            item = q.get(timeout=max(deadline - time.perf_counter(), 0.01))
        except queue.Empty:
            timed_out = True
            break
        if item is None:
            break
        i, val, err, dt = item
        vals[i] = val
        secs.append(dt)
        if err:
            errors.append(err)
    proc.terminate()
    proc.join()
    return vals, secs, errors, timed_out


# -- one parameter set ------------------------------------------------------------------------
def bench_one(gamma, kappa, args):
    law = HTMP(gamma=gamma, kappa=kappa)
    row = {"gamma": gamma, "kappa": kappa, "alpha": float(law.alpha), "c": float(law.c)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        law.pdf(1.0)
        row["first"] = time.perf_counter() - t0

        q = expit(np.linspace(logit(1e-12), logit(1 - 1e-12), args.n_ppf))
        t_ppf, xq = timed(lambda: law.ppf(q))
        x = refine(xq, args.n)
        qb = np.linspace(0.05, 0.95, 2000)
        xb = refine(law.ppf(qb), args.n)
        var = float(law.var())
        gam = scipy.stats.gamma(a=1.0 / var, scale=var)
        rate = {
            "pdf": args.n / timed(lambda: law.pdf(x))[0],
            "logpdf": args.n / timed(lambda: law.logpdf(x))[0],
            "cdf": args.n / timed(lambda: law.cdf(x))[0],
            "cdf (bulk)": args.n / timed(lambda: law.cdf(xb))[0],
            "ppf": args.n_ppf / t_ppf,
            "rvs": args.n_ppf / timed(lambda: law.rvs(args.n_ppf, rng=0))[0],
        }
        with np.errstate(all="ignore"):      # scipy's own overflow warnings are not the law's
            rate["gamma.pdf"] = args.n / timed(lambda: gam.pdf(x))[0]
        row["rate"] = rate
        row["x_range"] = (float(xq.min()), float(xq.max()))
        row["n_zero_x"] = int(np.sum(xq == xq.min()))
        with np.errstate(all="ignore"):
            row["roundtrip"] = float(np.max(np.abs(law.cdf(xq) - q)))
            row["nonfinite_pdf"] = int(np.sum(~np.isfinite(law.pdf(x))))
        idx = np.linspace(0, args.n_ppf - 1, args.mpmath_points).round().astype(int)
        ys = xq[idx]
        ours = law.pdf(ys)
    vals, secs, errors, timed_out = mpmath_pdf(gamma, kappa, ys, args.mpmath_budget)
    done = [i for i, v in enumerate(vals) if v is not None]
    row["mp_done"], row["mp_total"] = len(done), len(ys)
    row["mp_rate"] = len(secs) / sum(secs) if secs and sum(secs) > 0 else np.nan
    row["mp_errors"], row["mp_timeout"] = errors, timed_out
    with np.errstate(all="ignore"):
        rel = [abs(ours[i] / vals[i] - 1.0) for i in done if vals[i] > 0 and np.isfinite(ours[i])]
    row["mp_relerr"] = max(rel) if rel else np.nan
    row["warnings"] = sorted({f"{w.category.__name__}: {w.message} ({os.path.basename(w.filename)}"
                              f":{w.lineno})" for w in caught})
    return row


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def git_state():
    """Commit of the checkout and whether the law sources differ from it (or '?')."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "../src/htmp/laws"],
                               cwd=here, text=True, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + (" + uncommitted changes in src/htmp/laws" if dirty.strip() else "")


# -- output -----------------------------------------------------------------------------------
def _rate(v):
    return f"{v:.2e}" if np.isfinite(v) else "-"


def throughput_table(rows):
    head = ["gamma", "kappa"] + [f"{m} [pts/s]" for m in METHODS] + ["pdf time / gamma.pdf time"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        ra = r["rate"]
        cells = [f"{r['gamma']:g}", f"{r['kappa']:g}"] + [_rate(ra[m]) for m in METHODS]
        cells.append(f"{ra['gamma.pdf'] / ra['pdf']:.1f}x")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cost_table(rows, args):
    head = ["gamma", "kappa", "Laguerre alpha", "c", "first call (table build) [s]",
            "ppf range (q = 1e-12 .. 1-1e-12)", "max abs(cdf(ppf(q)) - q)", "non-finite pdf",
            "mpmath hyperu dps 30 [pts/s]", "mpmath points ok", "max rel diff HTMP.pdf vs mpmath"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        ok = f"{r['mp_done']}/{r['mp_total']}"
        if r["mp_timeout"]:
            ok += f" (stopped after {args.mpmath_budget:g} s)"
        if r["mp_errors"]:
            kinds = sorted(set(r["mp_errors"]))
            ok += f"; {len(r['mp_errors'])} failed: {', '.join(kinds)}"
        lo, hi = r["x_range"]
        cells = [f"{r['gamma']:g}", f"{r['kappa']:g}", f"{r['alpha']:.6g}", f"{r['c']:g}",
                 f"{r['first']:.2f}", f"[{lo:.3g}, {hi:.3g}]", f"{r['roundtrip']:.1e}",
                 f"{r['nonfinite_pdf']}/{r['n_pdf']}", _rate(r["mp_rate"]), ok,
                 f"{r['mp_relerr']:.1e}" if np.isfinite(r["mp_relerr"]) else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000, help="points for pdf/logpdf/cdf")
    p.add_argument("--n-ppf", type=int, default=100_000, help="points for ppf and rvs")
    p.add_argument("--mpmath-points", type=int, default=20)
    p.add_argument("--mpmath-budget", type=float, default=60.0,
                   help="seconds of mpmath per parameter set before it is stopped")
    p.add_argument("--quick", action="store_true", help="n = 1e5, n-ppf = 1e4, 5 s of mpmath")
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.n_ppf, args.mpmath_budget = 100_000, 10_000, 5.0

    import mpmath

    t_start = time.perf_counter()
    print("# HTMP law benchmark\n")
    print(f"- {platform.python_version()} on {platform.machine()}, {cpu_model()}, "
          f"{os.cpu_count()} logical CPUs; numpy {np.__version__}, scipy {scipy.__version__}, "
          f"mpmath {mpmath.__version__}; single process (mpmath in a child process, run in turn)")
    print(f"- htmp at {git_state()}")
    print(f"- n = {args.n:.0e} points for pdf/logpdf/cdf/gamma.pdf, {args.n_ppf:.0e} for ppf/rvs, "
          f"{args.mpmath_points} for mpmath; quantiles 1e-12 .. 1-1e-12 spaced in logit(q)\n")
    rows = []
    for gamma, kappa in TYPICAL + CORNERS:
        r = bench_one(gamma, kappa, args)
        r["n_pdf"] = args.n
        rows.append(r)
    print("## Steady-state throughput (table warm)\n")
    print(throughput_table(rows))
    print("\n## One-time cost, sanity and mpmath\n")
    print(cost_table(rows, args))
    print("\n## Warnings emitted by the law during the runs\n")
    any_w = False
    for r in rows:
        for w in r["warnings"]:
            any_w = True
            print(f"- gamma={r['gamma']:g}, kappa={r['kappa']:g}: {w}")
    if not any_w:
        print("- none")
    print(f"\ntotal time {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()

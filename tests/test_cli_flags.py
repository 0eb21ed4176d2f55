"""The CLI speaks flags (issue 14, item 6): --version, analyze --fits/--conv/--title/--plots,
errors that name the flag, kappa --factor-sizes M,D, law mp --kappa refused, negative x.

Every command goes through typer's CliRunner; the model is a small .npz built here.
"""
import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import htmp
from htmp.cli._io import flagged
from htmp.cli.app import app, package_version

runner = CliRunner()


@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    rng = np.random.default_rng(14)
    p = tmp_path_factory.mktemp("flags") / "w.npz"
    np.savez(p, **{"enc.layer.0.query.weight": rng.standard_normal((40, 100)),
                   "enc.layer.1.query.weight": rng.standard_normal((30, 90)),
                   "conv": rng.standard_normal((6, 4, 3, 3)),
                   "tiny": rng.standard_normal((2, 5))})
    return p


def _json(res):
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


# -- --version -------------------------------------------------------------------------------
def test_version_prints_the_package_version():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0
    assert res.output.strip() == f"htmp {package_version()}"
    assert package_version() in (htmp.__version__, package_version())
    assert re.fullmatch(r"htmp \d+\.\d+\S*", res.output.strip())


# -- analyze --fits / --conv -----------------------------------------------------------------
def test_fits_flag_limits_the_fits(npz):
    rows = _json(runner.invoke(app, ["analyze", str(npz), "--fits", "mp,powerlaw",
                                     "--format", "json"]))["layers"]
    ok = [r for r in rows if r["status"] != "skipped"]
    assert ok and all(r["kappa"] is None and r["htmp_status"] == "" for r in ok)
    assert all(r["mp_scale"] is not None and r["alpha"] is not None for r in ok)
    assert all(r["phase"] == "" for r in ok)          # a phase needs mp and htmp


def test_fits_flag_matches_the_library(npz):
    got = _json(runner.invoke(app, ["analyze", str(npz), "--fits", "htmp, mp",
                                    "--format", "json"]))["layers"]
    want = htmp.analyze(npz, fits=("mp", "htmp"))
    assert [r["kappa"] for r in got] == [None if not np.isfinite(k) else pytest.approx(k)
                                         for k in want["kappa"]]
    assert [r["htmp_status"] for r in got] == list(want["htmp_status"])


@pytest.mark.parametrize("value", ["mp,foo", "", ","])
def test_bad_fits_names_the_flag_and_the_accepted_values(npz, value):
    res = runner.invoke(app, ["analyze", str(npz), "--fits", value])
    assert res.exit_code == 2
    assert "--fits must be a comma-separated, non-empty subset of mp,htmp,powerlaw" in res.output
    if "foo" in value:
        assert "(unknown: foo)" in res.output


def test_conv_flag_reaches_the_analysis(npz):
    def conv_row(*extra):
        rows = _json(runner.invoke(app, ["analyze", str(npz), "--format", "json",
                                         "--min-evals", "2", *extra]))["layers"]
        return next(r for r in rows if r["name"] == "conv")

    flat, sl = conv_row(), conv_row("--conv", "slices")
    assert (flat["N"], flat["M"]) == (6, 36)          # out x (in*kh*kw)
    assert (sl["N"], sl["M"]) == (4, 6)               # one in x out matrix per position
    assert sl["n_evals"] == 9 * 4
    bad = runner.invoke(app, ["analyze", str(npz), "--conv", "rows"])
    assert bad.exit_code == 2 and "--conv" in bad.output


# -- errors name the flag -------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["--min-evals", "0"], "--min-evals must be an integer >= 1, got 0"),
    (["--max-evals", "-3"], "--max-evals must be 0 (no limit) or an integer >= --min-evals (8), "
                            "got -3"),
    (["--min-evals", "100", "--max-evals", "50"],
     "--max-evals must be 0 (no limit) or an integer >= --min-evals (100), got 50"),
    (["--workers", "0"], "--workers must be an integer >= 1, got 0"),
    (["--every", "0"], "--every must be an integer >= 1, got 0"),
    (["--dask-workers", "1", "--workers", "2"],
     "--workers must be 1 with --scheduler or --dask-workers"),
])
def test_analyze_errors_name_the_flag(npz, args, message):
    res = runner.invoke(app, ["analyze", str(npz), *args])
    assert res.exit_code == 2
    assert message in res.output
    assert not re.search(r"(?<!-)\b(min_evals|max_evals|workers|every) must", res.output)


def test_max_evals_zero_means_no_limit(npz):
    rows = _json(runner.invoke(app, ["analyze", str(npz), "--max-evals", "0",
                                     "--format", "json"]))["layers"]
    assert {r["name"] for r in rows if r["status"] == "ok"} >= {"enc.layer.0.query.weight"}


def test_library_keywords_in_errors_become_flags():
    flags = {"max_evals": "--max-evals", "min_evals": "--min-evals", "layers": "--layers"}
    assert flagged("max_evals must be >= min_evals=100 (or None), got 50", flags) == \
        "--max-evals must be >= --min-evals 100 (or None), got 50"
    # a weight name or a plain word that holds the keyword is left alone
    assert flagged("block.max_evals must stay", flags) == "block.max_evals must stay"
    assert flagged("no analysable layers in x", flags) == "no analysable layers in x"
    assert flagged("no analysable layers matching layers='q' in x", flags) == \
        "no analysable layers matching --layers 'q' in x"


def test_no_layer_matches_names_the_layers_flag(npz):
    res = runner.invoke(app, ["analyze", str(npz), "--layers", "nothing-like-this"])
    assert res.exit_code == 2
    assert "--layers 'nothing-like-this'" in res.output


# -- --title / --plots -----------------------------------------------------------------------
def test_title_and_plots(npz, tmp_path):
    rep, plots = tmp_path / "rep", tmp_path / "plots"
    res = runner.invoke(app, ["analyze", str(npz), "--report", str(rep), "--title",
                              "My <model>", "--plots", str(plots)])
    assert res.exit_code == 0, res.output
    page = (rep / "index.html").read_text(encoding="utf-8")
    assert "<title>My &lt;model&gt;</title>" in page and "<h1>My &lt;model&gt;</h1>" in page
    pngs = sorted(p.name for p in plots.iterdir())
    # one PNG per layer with eigenvalues ("conv" has 6, "tiny" 2: skipped by --min-evals 8)
    assert pngs == ["enc.layer.0.query.weight.png", "enc.layer.1.query.weight.png"]
    for p in plots.iterdir():
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "plots: 2 PNG file(s)" in res.output


def test_default_title_names_the_file(npz, tmp_path):
    res = runner.invoke(app, ["analyze", str(npz), "--report", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "<title>htmp report: w.npz</title>" in (tmp_path / "index.html").read_text()


def test_plots_must_be_a_directory(npz, tmp_path):
    f = tmp_path / "file.png"
    f.write_bytes(b"")
    res = runner.invoke(app, ["analyze", str(npz), "--plots", str(f)])
    assert res.exit_code == 2
    assert "--plots" in res.output                   # typer: "... is a file"


def test_plots_of_a_run_go_to_one_folder_per_checkpoint(npz, tmp_path):
    other = tmp_path / "v.npz"
    other.write_bytes(npz.read_bytes())
    res = runner.invoke(app, ["analyze", str(npz), str(other), "--plots", str(tmp_path / "p")])
    assert res.exit_code == 0, res.output
    subs = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert subs == ["v.npz", "w.npz"]
    assert all(len(list((tmp_path / "p" / s).glob("*.png"))) == 2 for s in subs)


# -- kappa --factor-sizes ------------------------------------------------------------------
@pytest.mark.parametrize("sizes", [["8,8"], ["8", "8"], ["4,16"]])
def test_kappa_factor_sizes_as_its_help_promises(sizes):
    args = ["kappa", "kronecker", "--n", "64", "--samples", "12", "--iterations", "2",
            "--seed", "1", "--json"]
    for s in sizes:
        args += ["--factor-sizes", s]
    d = _json(runner.invoke(app, args))
    want = tuple(int(w) for s in sizes for w in s.split(","))
    assert tuple(d["params"]["factor_sizes"]) == want


def test_kappa_help_shows_the_comma_form():
    res = runner.invoke(app, ["kappa", "--help"], env={"COLUMNS": "200"})
    assert "--factor-sizes 8,8" in res.output


@pytest.mark.parametrize("value", ["4,8", "8", "a,b", "8,8,1"])
def test_kappa_bad_factor_sizes_name_the_flag(value):
    res = runner.invoke(app, ["kappa", "kronecker", "--n", "64", "--factor-sizes", value])
    assert res.exit_code == 2
    assert "--factor-sizes must be two positive integers M,D with M*D = --n (64)" in res.output


def test_kappa_library_errors_name_flags():
    res = runner.invoke(app, ["kappa", "diagonal", "--n", "16", "--block-size", "4"])
    assert res.exit_code == 2 and "[--block-size]" in res.output
    res = runner.invoke(app, ["kappa", "free_eigenvectors", "--n", "16", "--k", "0"])
    assert res.exit_code == 2 and "--k must be an integer in [1, 16], got 0" in res.output
    res = runner.invoke(app, ["kappa", "kronecker", "--n", "16"])
    assert res.exit_code == 2 and "requires --factor-sizes" in res.output


# -- law ------------------------------------------------------------------------------------
def test_law_mp_with_kappa_is_an_error():
    res = runner.invoke(app, ["law", "mp", "--gamma", "0.5", "--kappa", "3", "1"])
    assert res.exit_code == 2
    assert "--kappa is for the HTMP laws (htmp, inverse-htmp) only" in res.output
    assert "got --kappa 3" in res.output


def test_law_htmp_without_kappa_names_the_flag():
    res = runner.invoke(app, ["law", "htmp", "--gamma", "0.5", "1"])
    assert res.exit_code == 2 and "--kappa is required for the htmp law" in res.output


def test_law_library_errors_name_flags():
    res = runner.invoke(app, ["law", "htmp", "--gamma", "2", "--kappa", "1", "1"])
    assert res.exit_code == 2 and "--gamma must be" in res.output
    res = runner.invoke(app, ["law", "mp", "--gamma", "0.5", "--scale", "-1", "1"])
    assert res.exit_code == 2 and "--scale must be" in res.output


def test_law_negative_x_after_double_dash():
    res = runner.invoke(app, ["law", "htmp", "--gamma", "0.5", "--kappa", "2", "--json",
                              "--", "-1", "0.5"])
    d = _json(res)
    law = htmp.HTMP(gamma=0.5, kappa=2.0)
    assert [v["x"] for v in d["values"]] == [-1.0, 0.5]
    assert d["values"][0]["pdf"] == 0.0 and d["values"][0]["cdf"] == 0.0     # below support
    assert d["values"][1]["cdf"] == pytest.approx(float(law.cdf(0.5)), rel=1e-12)


def test_law_help_says_how_to_pass_a_negative_x():
    res = runner.invoke(app, ["law", "--help"], env={"COLUMNS": "200"})
    assert "-- -1" in res.output

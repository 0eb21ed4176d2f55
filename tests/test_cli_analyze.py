"""``htmp analyze`` through typer's CliRunner agrees with htmp.analyze."""
import io
import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import htmp
from htmp.analysis import summarize
from htmp.cli.app import app

runner = CliRunner()


@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    rng = np.random.default_rng(3)
    p = tmp_path_factory.mktemp("cli") / "w.npz"
    np.savez(p, layer_a=rng.standard_normal((50, 120)), layer_b=rng.standard_normal((30, 90)),
             tiny=rng.standard_normal((2, 5)),
             bad=np.full((20, 40), np.nan))
    return p


@pytest.fixture(scope="module")
def api(npz):
    return htmp.analyze(npz)


def _equal(value, expected):
    # JSON has no NaN or inf: both are null (kappa = inf is read with htmp_status "mp-like")
    if expected is None or (isinstance(expected, float) and not math.isfinite(expected)) \
            or expected is pd.NA:
        return value is None or (isinstance(value, float) and math.isnan(value))
    return value == expected


def test_json_matches_api(npz, api):
    r = runner.invoke(app, ["analyze", str(npz), "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [row["name"] for row in out["layers"]] == ["layer_a", "layer_b", "tiny", "bad"]
    assert [row["status"] for row in out["layers"]] == ["ok", "ok", "skipped", "failed"]
    for row, (_, ref) in zip(out["layers"], api.iterrows()):
        for col in ("kappa", "kappa_lo", "mp_ks", "htmp_ks", "loglik_ratio", "fit_quality",
                    "alpha", "xmin", "mp_scale", "n_spikes", "phase", "rank"):
            assert _equal(row[col], ref[col]), (row["name"], col, row[col], ref[col])
    ref = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
           for k, v in summarize(api).to_dict().items()}          # strict JSON: NaN is null
    assert out["summary"] == json.loads(json.dumps(ref))


def test_csv_matches_api(npz, api):
    r = runner.invoke(app, ["analyze", str(npz), "--format", "csv"])
    assert r.exit_code == 0, r.output
    got = pd.read_csv(io.StringIO(r.stdout), keep_default_na=False, na_values=[""])
    assert list(got.columns) == list(api.columns)
    for col in ("kappa", "alpha", "mp_scale", "gamma"):   # repr round trip: exact
        np.testing.assert_array_equal(got[col].to_numpy(float), api[col].to_numpy(float))
    assert got["status"].tolist() == api["status"].tolist()


def test_table_and_markdown(npz):
    r = runner.invoke(app, ["analyze", str(npz)])
    assert r.exit_code == 0, r.output
    assert "layer_a" in r.stdout and "4 layers (2 ok, 0 partial, 1 failed, 1 skipped)" in r.stdout
    assert "failed: bad: ValueError: W must be finite" in r.stdout
    r = runner.invoke(app, ["analyze", str(npz), "--format", "markdown"])
    lines = r.stdout.splitlines()
    assert lines[0].startswith("| name | type | shape |") and lines[1].startswith("|---|")
    assert sum(line.startswith("| layer_") for line in lines) == 2


def test_layers_min_evals_workers(npz):
    r = runner.invoke(app, ["analyze", str(npz), "--layers", "^layer_b$|tiny", "--format",
                            "json", "--min-evals", "2", "--workers", "2"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["layers"]
    # 2 eigenvalues: some fits refuse (status "partial", message says which), others run
    assert [(x["name"], x["status"]) for x in rows] == [("layer_b", "ok"), ("tiny", "partial")]


def test_max_evals_option(npz):
    r = runner.invoke(app, ["analyze", str(npz), "--format", "json", "--max-evals", "9"])
    assert r.exit_code == 0, r.output
    rows = {x["name"]: x for x in json.loads(r.stdout)["layers"]}
    big = [n for n, x in rows.items() if x["N"] > 9]
    assert big and all(rows[n]["status"] == "skipped" and "> max_evals=9" in rows[n]["message"]
                       for n in big)
    r = runner.invoke(app, ["analyze", str(npz), "--format", "json", "--max-evals", "0"])
    assert all("max_evals" not in x["message"] for x in json.loads(r.stdout)["layers"])


def test_progress_goes_to_stderr(npz):
    r = runner.invoke(app, ["analyze", str(npz), "--format", "json", "--progress"])
    assert r.exit_code == 0, r.output
    json.loads(r.stdout)                 # stdout stays machine-readable
    assert "analysing" in r.stderr


def test_errors_exit_2(tmp_path, npz):
    p = tmp_path / "model.onnx"
    p.write_bytes(b"x")
    r = runner.invoke(app, ["analyze", str(p)])
    assert r.exit_code == 2
    assert "unknown file type '.onnx'" in r.stderr and "accepted formats" in r.stderr
    r = runner.invoke(app, ["analyze", str(npz), "--layers", "zzz"])
    assert r.exit_code == 2 and "no analysable layers" in r.stderr

"""Hostile inputs against the outputs: what a model file's names and values can do to the
table, markdown, CSV, JSON, the HTML report and the terminal, and what the CLI does with
absurd sizes, a full disk and a bad report directory (the output part of the audit).

Every model is built here (npz or a hand-written safetensors file, whose JSON header can
hold names an npz cannot); nothing is downloaded.
"""
import errno
import io
import json
import os
import struct
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import htmp
from htmp.analysis import run
from htmp.cli import _io
from htmp.cli.app import app
from htmp.report import write_report
from htmp.report._safe import csv_frame, csv_text, printable

pytest.importorskip("matplotlib")
runner = CliRunner()
SRC = Path(htmp.__file__).resolve().parents[1]       # this checkout's src/, for subprocesses


def safetensors(path, tensors, shapes=None):
    """Write float32 ``tensors`` (name -> array) as a safetensors file; ``shapes`` overrides
    a header shape (the data stays the array's)."""
    header, blobs, offset = {}, [], 0
    for name, arr in tensors.items():
        raw = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        shape = list((shapes or {}).get(name, arr.shape))
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header).encode("ascii")       # "\ud800" travels as a JSON escape
    path.write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))
    return path


def gauss(seed, shape=(30, 80)):
    return np.random.default_rng(seed).standard_normal(shape)


FORMULAS = ["=1+1", "@SUM(A1)", "+cmd|' /C calc'!A0", "-2+3", "\t=1+1", "\r=1+1"]
CONTROL = ["\x1b]0;pwned\x07", "\x1b[2J\x1b[31mred", "a|b\nc", "rtl\u202eexe.gpj", "\x9b31m"]
SURROGATE = "\ud800"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    names = FORMULAS + CONTROL + [SURROGATE, "plain.weight"]
    tensors = {n: gauss(i) for i, n in enumerate(names)}
    tensors["\x1b[33mbroken"] = np.full((20, 40), np.nan)          # a failed layer: message
    return safetensors(tmp_path_factory.mktemp("hostile") / "m.safetensors", tensors)


def invoke(*args):
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r


# --- 2. CSV formula injection ----------------------------------------------------------

def test_csv_text_cells_get_a_quote_before_a_formula():
    assert [csv_text(n) for n in FORMULAS] == ["'=1+1", "'@SUM(A1)", "'+cmd|' /C calc'!A0",
                                               "'-2+3", "'\\t=1+1", "'\\r=1+1"]
    assert csv_text("layer.0.weight") == "layer.0.weight"
    df = pd.DataFrame({"name": ["-2", "=x"], "v": [-2.5, 1.0], "n": pd.array([-3, None],
                                                                            dtype="Int64")})
    back = pd.read_csv(io.StringIO(csv_frame(df).to_csv(index=False)))
    assert back["name"].tolist() == ["'-2", "'=x"]
    assert back["v"].tolist() == [-2.5, 1.0] and back["n"].iloc[0] == -3    # numbers stay


def test_cli_csv_neutralises_formula_names(hostile):
    r = invoke("analyze", hostile, "--format", "csv")
    assert r.exit_code == 0, r.output
    got = pd.read_csv(io.StringIO(r.stdout), keep_default_na=False, na_values=[""])
    names = got["name"].tolist()
    assert {"'=1+1", "'@SUM(A1)", "'+cmd|' /C calc'!A0", "'-2+3"} <= set(names)
    assert "plain.weight" in names
    assert not any(n.startswith(("=", "+", "-", "@", "\t", "\r")) for n in names)
    for col in ("gamma", "kappa_lo", "mp_ks"):                      # still numbers
        assert pd.api.types.is_float_dtype(got[col]), col


# --- 3. terminal escapes, markdown table --------------------------------------------------

def test_printable_escapes_controls_and_keeps_text():
    assert printable("\x1b]0;t\x07") == "\\x1b]0;t\\x07"
    assert printable("a\nb\tc\r") == "a\\nb\\tc\\r"
    assert printable("x\u202ey\u200bz\u2028") == "x\\u202ey\\u200bz\\u2028"
    assert printable(SURROGATE) == "\\ud800"
    assert printable("κ-γ.weight é 日本") == "κ-γ.weight é 日本"


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv"])
def test_text_outputs_carry_no_control_character(hostile, fmt):
    r = invoke("analyze", hostile, "--format", fmt)
    assert r.exit_code == 0, r.output
    body = r.stdout.replace("\n", "") if fmt != "csv" else r.stdout
    bad = [c for c in body if (ord(c) < 32 and c != "\n") or 0x7f <= ord(c) < 0xa0
           or c in "\u202e\u2028"]
    if fmt == "csv":          # a quoted CSV cell may hold a raw newline; none is left here
        bad += [line for line in r.stdout.splitlines() if line.startswith("c,")]
    assert bad == []
    assert "\\x1b]0;pwned\\x07" in r.stdout


def test_markdown_rows_stay_rows(hostile):
    r = invoke("analyze", hostile, "--format", "markdown")
    rows = [ln for ln in r.stdout.splitlines() if ln.startswith("|")]
    assert len(rows) == 2 + len(htmp.analyze(hostile))               # header, rule, layers
    ncols = rows[0].count(" | ")
    assert all(ln.replace("\\|", "").count(" | ") == ncols for ln in rows[2:])
    assert any(ln.startswith("| a\\|b\\nc |") for ln in rows)


def test_failure_lines_and_errors_escape_names(hostile, tmp_path):
    r = invoke("analyze", hostile)
    assert "failed: \\x1b[33mbroken: " in r.stdout and "\x1b" not in r.stdout
    p = tmp_path / "m\x1b[2J.onnx"
    p.write_bytes(b"x")
    r = invoke("analyze", p)
    assert r.exit_code == 2 and "\x1b" not in r.stderr and "\\x1b[2J" in r.stderr


# --- 8. lone surrogates --------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json"])
def test_lone_surrogate_name_in_every_format(hostile, fmt):
    r = invoke("analyze", hostile, "--format", fmt)
    assert r.exit_code == 0, r.output
    assert "\\ud800" in r.stdout
    if fmt == "json":                                  # JSON keeps the name exact
        assert SURROGATE in [row["name"] for row in json.loads(r.stdout)["layers"]]


def test_report_of_hostile_names(hostile, tmp_path):
    a = run(hostile)
    page = write_report([("\x1b[2J$a$ \ud800", a), ("<b>two</b>", a)], tmp_path).read_text()
    assert "\\ud800" in page and "\x1b" not in page and "<b>two</b>" not in page
    assert "&lt;b&gt;two&lt;/b&gt;" in page
    assert page.count('<section class="layer"') == 2 * len(a.table)
    assert "Figure not drawn" not in page           # names with $ and escapes are plain text


# --- 7. a figure that fails costs one card -------------------------------------------------

def _mixed(tmp_path):
    p = tmp_path / "tiny.npz"
    np.savez(p, tiny=gauss(1) * 1e-160, normal=gauss(2))
    return p


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # the fits' underflow: numeric side
def test_report_survives_a_1e160_layer(tmp_path):
    a = run(_mixed(tmp_path))
    doc = write_report(a, tmp_path / "rep").read_text()
    assert doc.count('<section class="layer"') == 2
    assert doc.count('<img alt="ESD of normal"') == 1


def test_report_survives_nan_inf_and_empty_spectra(tmp_path):
    a = run({"a": gauss(1), "b": gauss(2), "c": gauss(3), "d": gauss(4)})
    odd = {"a": np.array([]), "b": np.full(30, np.nan), "c": np.r_[np.inf, -np.inf, 1.0, 2.0],
           "d": np.full(30, 1e-320)}
    a = replace(a, spectra=MappingProxyType(odd))
    doc = write_report(a, tmp_path).read_text()
    assert doc.count('<section class="layer"') == 4


def test_a_figure_that_raises_becomes_a_card(tmp_path, monkeypatch):
    from htmp.report import html

    def boom(eigs, fit, *, ax, **kw):
        raise ValueError("Axis limits cannot be NaN or Inf")
    monkeypatch.setattr(html, "plot_esd", boom)
    monkeypatch.setattr(html, "plot_overview", lambda t, *, axes: 1 / 0)
    a = run({"a": gauss(1), "b": gauss(2)})
    doc = write_report(a, tmp_path).read_text()
    assert doc.count("Figure not drawn (ESD of") == 2
    assert "Figure not drawn (kappa and alpha by layer depth): ZeroDivisionError" in doc
    assert "Axis limits cannot be NaN or Inf" in doc
    assert doc.count('<section class="layer"') == 2 and "<table>" in doc


def test_cli_prints_the_table_before_the_report(tmp_path, monkeypatch):
    import htmp.report

    def broken(*args, **kwargs):
        raise RuntimeError("drawing exploded")
    monkeypatch.setattr(htmp.report, "write_report", broken)
    p = tmp_path / "m.npz"
    np.savez(p, layer=gauss(1))
    r = invoke("analyze", p, "--report", tmp_path / "rep")
    assert r.exit_code == 2
    assert "layer" in r.stdout and "1 layers (1 ok" in r.stdout          # the table came out
    assert "could not write the report" in r.stderr and "drawing exploded" in r.stderr


def test_cli_report_of_a_1e160_layer(tmp_path):
    r = invoke("analyze", _mixed(tmp_path), "--report", tmp_path / "rep", "--format", "json")
    assert r.exit_code == 0, r.output
    assert sorted(x["name"] for x in json.loads(r.stdout)["layers"]) == ["normal", "tiny"]
    assert (tmp_path / "rep" / "index.html").exists()


# --- 9. an absurd shape never loses the table ----------------------------------------------

def test_shape_1e20_keeps_the_other_layers(tmp_path):
    p = safetensors(tmp_path / "big.safetensors", {"a": gauss(1), "b": gauss(2, (4, 4))},
                    shapes={"b": [10 ** 20, 1]})
    for fmt in ("table", "csv", "json", "markdown"):
        r = invoke("analyze", p, "--format", fmt, "--report", tmp_path / fmt)
        assert r.exit_code == 0, (fmt, r.output)
    rows = json.loads(invoke("analyze", p, "--format", "json").stdout)["layers"]
    assert [(x["name"], x["status"]) for x in rows][0] == ("a", "ok")
    assert rows[1]["status"] in ("skipped", "failed") and rows[1]["M"] is None


# --- 10. kappa work is bounded up front -----------------------------------------------------

@pytest.fixture
def no_sampling(monkeypatch):
    """Fail at once, instead of allocating gigabytes, if the work starts."""
    from htmp.repulsion import fixed_point

    def started(*a, **k):
        raise AssertionError("estimate_kappa started sampling")
    monkeypatch.setattr(fixed_point, "sample_q_kappa", started)


@pytest.mark.parametrize("args, message", [
    (["diagonal", "--n", "1000000000"], "--n must be an integer in [2, 4096], got 1000000000"),
    (["diagonal", "--samples", "1000000000"],
     "--samples must be an integer in [3, 100000], got 1000000000"),
    (["diagonal", "--iterations", "1000000000"],
     "--iterations must be an integer in [2, 10000], got 1000000000"),
    (["block_diagonal", "--n", "4096", "--block-size", "8"],
     "n * n_samples * n_labellings must be <= 33554432"),
    (["symmetric", "--n", "4000", "--samples", "1000"],
     "n * (n - 1) / 2 * n_samples * n_iter must be <= 1e+11"),
])
def test_kappa_cli_rejects_too_much_work(no_sampling, args, message):
    r = invoke("kappa", *args)
    assert r.exit_code == 2 and message in r.stderr, r.output


@pytest.mark.parametrize("kwargs, message", [
    ({"n": 10 ** 9}, r"n must be an integer in \[2, 4096\] \(htmp.repulsion.fixed_point.MAX_N\)"),
    ({"n": 64, "n_samples": 10 ** 9}, r"n_samples must be an integer in \[3, 100000\]"),
    ({"n": 64, "n_iter": 10 ** 9}, r"n_iter must be an integer in \[2, 10000\]"),
    ({"n": 2048, "n_samples": 1000}, r"n \* n_samples \* n_labellings must be <= 33554432"),
])
def test_estimate_kappa_rejects_too_much_work(no_sampling, kwargs, message):
    from htmp.repulsion import estimate_kappa

    with pytest.raises(ValueError, match=message):
        estimate_kappa("block_diagonal", block_size=2, rng=0, **kwargs)


# --- 17. strict JSON, full disk, report directory, warnings ---------------------------------

def strict_json(text):
    def no_constant(c):
        raise AssertionError(f"bare {c} in JSON output")
    return json.loads(text, parse_constant=no_constant)


def test_law_and_fit_json_have_no_bare_nan(tmp_path):
    r = invoke("law", "mp", "nan", "inf", "1", "--gamma", "0.5", "--json")
    vals = strict_json(r.stdout)["values"]
    assert vals[0] == {"x": None, "pdf": None, "cdf": None, "sf": None}
    assert vals[1]["x"] is None and vals[2]["x"] == 1.0
    p = tmp_path / "ev.npy"
    np.save(p, np.ones(5))
    r = invoke("fit", p, "--law", "powerlaw", "--json")
    d = strict_json(r.stdout)
    assert d["alpha"] is None and d["status"] == "failed"
    assert _io.dumps({"a": [float("-inf"), (1.5, float("nan"))]}) == '{"a": [null, [1.5, null]]}'


def test_full_disk_is_a_clear_error(tmp_path, monkeypatch):
    real = _io.typer.echo

    def full(message=None, *args, err=False, **kw):
        if not err:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(message, *args, err=err, **kw)
    monkeypatch.setattr(_io.typer, "echo", full)
    p = tmp_path / "m.npz"
    np.savez(p, layer=gauss(1))
    for args in (["law", "mp", "1", "--gamma", "0.5", "--json"], ["analyze", p],
                 ["kappa", "diagonal", "--n", "8", "--iterations", "2", "--samples", "5"]):
        r = invoke(*args)
        assert r.exit_code == 2, args
        assert "could not write the output to stdout: No space left on device" in r.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_dev_full_gives_one_line_and_no_traceback():
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-c", "from htmp.cli import main; main()", "law",
                            "mp", "1", "--gamma", "0.5"], stdout=full, stderr=subprocess.PIPE,
                           text=True, env=env, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "error: could not write the output to stdout: No space left on device (errno 28)"]


def test_report_full_disk_after_the_table(tmp_path, monkeypatch):
    def full(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(Path, "write_text", full)
    p = tmp_path / "m.npz"
    np.savez(p, layer=gauss(1))
    r = invoke("analyze", p, "--report", tmp_path / "rep")
    assert r.exit_code == 2 and "1 layers (1 ok" in r.stdout
    assert "could not write the report" in r.stderr and "No space left on device" in r.stderr


@pytest.fixture
def no_analysis(monkeypatch):
    import htmp.analysis

    def started(*a, **k):
        raise AssertionError("the analysis ran before --report was checked")
    monkeypatch.setattr(htmp.analysis, "run", started)


def test_bad_report_dir_is_found_before_the_analysis(tmp_path, no_analysis, monkeypatch):
    p = tmp_path / "m.npz"
    np.savez(p, layer=gauss(1))
    afile = tmp_path / "file"
    afile.write_text("x")
    r = invoke("analyze", p, "--report", afile)                       # an existing file
    assert r.exit_code == 2 and "Invalid value for '--report'" in r.output
    r = invoke("analyze", p, "--report", afile / "sub")               # cannot be created
    assert r.exit_code == 2
    assert "--report must be a directory that can be created and written" in r.stderr
    from htmp.cli import analyze_cmd

    def read_only(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(analyze_cmd.tempfile, "TemporaryFile", read_only)
    r = invoke("analyze", p, "--report", tmp_path / "ro")               # not writable
    assert r.exit_code == 2 and "Permission denied" in r.stderr


def test_no_runtime_warning_reaches_stderr(tmp_path):
    """Weights at 1e150 make numpy warn inside the fits; the CLI prints the table only."""
    p = tmp_path / "m.npz"
    np.savez(p, huge=gauss(1) * 1e150, wide=gauss(2, (8, 2000)))
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    r = subprocess.run([sys.executable, "-W", "default", "-c",
                        "from htmp.cli import main; main()", "analyze", str(p), "--no-progress",
                        "--report", str(tmp_path / "rep")],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip().splitlines() == [f"report: {tmp_path / 'rep' / 'index.html'}"]


@pytest.mark.parametrize("scale", [1e-160, 1e150])
@pytest.mark.parametrize("law", ["mp", "htmp", "inverse-htmp", "invgamma", "powerlaw"])
def test_fit_on_extreme_scales_is_a_result_or_one_error_line(tmp_path, law, scale):
    p = tmp_path / "w.npy"
    np.save(p, gauss(5) * scale)
    r = runner.invoke(app, ["fit", str(p), "--law", law, "--json"])
    assert isinstance(r.exception, (SystemExit, type(None))), repr(r.exception)
    assert r.exit_code in (0, 2)
    if r.exit_code == 0:
        strict_json(r.stdout)
    else:
        assert r.stderr.startswith("error: ") and len(r.stderr.splitlines()) == 1

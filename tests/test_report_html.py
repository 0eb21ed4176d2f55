"""htmp.analysis.run + htmp.report.write_report: the HTML file and the CLI's --report/--device.

A tiny torch model built here: an ordinary rectangular layer, one with 10 rows scaled up
(spikes), a square one (HTMP fitted with gamma_eff = N/(M+1)), a conv kernel and one too
small to analyse.
"""
import base64
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import htmp
from htmp.analysis import Analysis, run
from htmp.cli.app import app
from htmp.report import write_report

torch = pytest.importorskip("torch")
pytest.importorskip("matplotlib")


def tiny_model():
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Conv2d(3, 12, 3), torch.nn.Flatten(),
                            torch.nn.Linear(300, 90), torch.nn.Linear(90, 90),
                            torch.nn.Linear(90, 40), torch.nn.Linear(40, 2))
    with torch.no_grad():
        m[2].weight[:10] *= 6.0
    return m


@pytest.fixture(scope="module")
def analysis():
    return run(tiny_model())


class _Doc(HTMLParser):
    """Collects sections (by class), img srcs, scripts, links and the visible text."""

    def __init__(self):
        super().__init__()
        self.sections, self.imgs, self.scripts, self.links, self.text = [], [], 0, [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("class", ""))
        elif tag == "img":
            self.imgs.append(a.get("src", ""))
        elif tag == "script":
            self.scripts += 1
        elif tag in ("a", "link"):
            self.links.append(a.get("href", ""))

    def handle_data(self, data):
        self.text.append(data)


def parse(path) -> _Doc:
    doc = _Doc()
    doc.feed(path.read_text(encoding="utf-8"))
    doc.close()
    return doc


def test_run_table_is_analyze(analysis):
    ref = htmp.analyze(tiny_model())
    cols = [c for c in ref.columns if c != "seconds"]
    pd.testing.assert_frame_equal(analysis.table[cols], ref[cols])
    assert isinstance(analysis, Analysis)
    assert analysis.summary == htmp.analysis.summarize(analysis.table)
    assert analysis.source == "Sequential"


def test_spectra_are_the_sorted_esd(analysis):
    t = analysis.table.set_index("name")
    analysed = t.index[t["status"].isin(["ok", "partial"])].tolist()
    assert sorted(analysis.spectra) == sorted(analysed)
    assert "5.weight" not in analysis.spectra                 # 2 eigenvalues: skipped
    w = tiny_model()[2].weight.detach().numpy()
    ev = analysis.spectra["2.weight"]
    np.testing.assert_allclose(ev, htmp.esd(w).eigenvalues, rtol=1e-10, atol=1e-12)
    assert np.all(np.diff(ev) >= 0) and not ev.flags.writeable
    f = analysis.fits("2.weight")
    assert f["gamma"] == pytest.approx(90 / 300) and f["kappa"] == t.loc["2.weight", "kappa"]
    with pytest.raises(KeyError, match="name must be a layer"):
        analysis.fits("nope")


def test_run_rejects_unknown_options():
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        run(tiny_model(), bins=3)


def test_report_one_section_per_layer_images_embedded(analysis, tmp_path):
    path = write_report(analysis, tmp_path / "rep", title="tiny <model>")
    assert path == tmp_path / "rep" / "index.html" and path.is_file()
    doc = parse(path)
    assert doc.sections.count("layer") == len(analysis.table)
    assert doc.scripts == 0
    assert doc.imgs and all(s.startswith("data:image/png;base64,") for s in doc.imgs)
    for src in doc.imgs:                                       # each is a real PNG
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    # one ESD figure per analysed layer + the overview
    assert len(doc.imgs) == len(analysis.spectra) + 1
    assert all(h.startswith("#") for h in doc.links)           # nothing fetched or linked out
    raw = path.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=\"(https?:)?//", raw)
    text = " ".join(doc.text)
    assert "tiny <model>" in text                              # escaped, shown as text
    assert "γ = N/(M+1) = 0.989" in text                      # 3.weight: square, fitted
    assert "MP-like" in text and "Why " in text              # a bound in words, a reason
    assert "Not analysed" in text                              # 5.weight: skipped


def test_report_several_models(analysis, tmp_path):
    other = run({"a": np.random.default_rng(1).standard_normal((40, 100))})
    path = write_report([("batch 512", analysis), ("batch 16", other)], tmp_path)
    doc = parse(path)
    assert doc.sections.count("layer") == len(analysis.table) + len(other.table)
    assert doc.sections.count("model") == 2
    text = " ".join(doc.text)
    assert text.index("batch 512") < text.index("batch 16")
    assert len(doc.imgs) == 1 + 2 + len(analysis.spectra) + len(other.spectra)


def test_report_rejects_bad_input(tmp_path):
    with pytest.raises(TypeError, match=r"analyses must be an htmp.analysis.Analysis"):
        write_report([("x", 3)], tmp_path)
    with pytest.raises(TypeError, match=r"analyses must be"):
        write_report([], tmp_path)


def test_failed_layer_gets_a_section(tmp_path):
    a = run({"good": np.random.default_rng(2).standard_normal((30, 80)),
             "bad": np.full((20, 40), np.nan)})
    doc = parse(write_report(a, tmp_path))
    assert doc.sections.count("layer") == 2
    assert "Could not be analysed" in " ".join(doc.text)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("cli") / "model.pt"
    torch.save(tiny_model().state_dict(), p)
    return p


def test_cli_report(model_file, tmp_path):
    out = tmp_path / "report"
    r = CliRunner().invoke(app, ["analyze", str(model_file), "--report", str(out),
                                 "--format", "csv"])
    assert r.exit_code == 0, r.output
    assert f"report: {out / 'index.html'}" in r.stderr
    assert "report:" not in r.stdout                           # stdout stays the CSV
    got = pd.read_csv(__import__("io").StringIO(r.stdout))
    doc = parse(out / "index.html")
    assert doc.sections.count("layer") == len(got)


def test_cli_device_cpu_is_the_default(model_file):
    a = CliRunner().invoke(app, ["analyze", str(model_file), "--format", "csv"])
    b = CliRunner().invoke(app, ["analyze", str(model_file), "--format", "csv",
                                 "--device", "cpu"])
    assert a.exit_code == b.exit_code == 0
    def strip(s):              # drop "seconds" (timing)
        return pd.read_csv(__import__("io").StringIO(s)).drop(columns="seconds")
    pd.testing.assert_frame_equal(strip(a.stdout), strip(b.stdout))


def test_cli_device_cuda_without_cuda_exits_2(model_file, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    r = CliRunner().invoke(app, ["analyze", str(model_file), "--device", "cuda"])
    assert r.exit_code == 2
    assert "torch.cuda.is_available() is False" in r.stderr
    with pytest.raises(RuntimeError, match="device='cuda' was requested"):
        htmp.analyze(model_file, device="cuda")
    with pytest.raises(ValueError, match=r"device must be one of \('cpu', 'cuda'\), got 'tpu'"):
        htmp.analyze(model_file, device="tpu")


@pytest.mark.parametrize("shape, conv", [((30, 70), "flatten"), ((70, 30), "flatten"),
                                         ((12, 5, 3, 3), "slices"), ((12, 5, 3, 3), "flatten")])
def test_torch_eigen_path_matches_lapack_on_cpu(shape, conv):
    """The --device cuda code path (torch Gram + torch.linalg.eigvalsh), run with torch on
    the CPU: same ESD as htmp.esd (orientation, 1/M normalisation, slices, rank)."""
    from htmp.analysis._device import _torch_gram_eigvals
    from htmp.fitting.esd import esd_with
    W = np.random.default_rng(5).standard_normal(shape)
    ref = htmp.esd(W, conv=conv)
    got = esd_with(W, conv=conv, gram_eigvals=lambda m: _torch_gram_eigvals(m, "cpu"))
    np.testing.assert_allclose(got.eigenvalues, ref.eigenvalues, rtol=1e-10,
                               atol=1e-13 * ref.eigenvalues[-1])
    assert (got.N, got.M, got.rank, got.n_slices) == (ref.N, ref.M, ref.rank, ref.n_slices)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu():
    m = tiny_model()
    cpu, gpu = run(m), run(m, device="cuda")
    for name, ev in cpu.spectra.items():
        np.testing.assert_allclose(gpu.spectra[name], ev, rtol=1e-9, atol=1e-12 * ev[-1])
    assert cpu.table["phase"].tolist() == gpu.table["phase"].tolist()


def test_report_phase_grid_for_shared_layer_names(analysis, tmp_path):
    raw = write_report([("a", analysis), ("b", analysis)], tmp_path).read_text("utf-8")
    assert raw.count('alt="phase of each layer in each model"') == 1
    assert "the 5 layer names all models share" in raw


def test_power_of_ten_labels_are_plain_text():
    from htmp.report.figures import PowerOfTenFormatter, new_figure, power_of_ten_text
    assert [power_of_ten_text(x) for x in (1e-5, 1e-3, 0.1, 1, 10, 100, 2e-7, 3.5e5, 0.02, 250)] \
        == ["10⁻⁵", "10⁻³", "10⁻¹", "1", "10", "10²", "2×10⁻⁷", "3.5×10⁵", "0.02", "250"]
    # on an axis: LogFormatter still decides which ticks are labelled, only the text changes
    fig, (ax,) = new_figure(3, 2, margins=dict(left=0.2, bottom=0.2))
    ax.set_xscale("log")
    ax.set_xlim(1e-5, 1e2)
    f = PowerOfTenFormatter()
    ax.xaxis.set_major_formatter(f)
    f.set_locs([1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10, 100])
    assert f(1e-3) == "10⁻³" and f(3e-3) == ""            # not a decade: no major label
    fig.canvas.draw()
    shown = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert shown and all("$" not in t for t in shown)      # no mathtext left

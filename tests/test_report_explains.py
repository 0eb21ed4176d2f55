"""A report that explains itself (issue 14, item 8): the phases defined on the page and
linked from every badge, the fitted power law on the log-log panel, axis labels on every
panel, layer names under the overview that do not overlap, and ``htmp.plot_layer``.

The model: 30 layers named like a BERT encoder's (``encoder.layer.9.attention.self.query
.weight``), built here from seeded Gaussian matrices, half with heavy-tailed row scales.
"""
import re
from html.parser import HTMLParser

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import htmp  # noqa: E402
from htmp.analysis import run  # noqa: E402
from htmp.fitting import LABELS  # noqa: E402
from htmp.fitting import phases as ph  # noqa: E402
from htmp.report import write_report  # noqa: E402
from htmp.report.figures import new_figure, plot_esd, layer_fit, short_names  # noqa: E402
from htmp.report.html import overview_figure  # noqa: E402

PARTS = ("attention.self.query", "attention.output.dense", "intermediate.dense")


@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    rng = np.random.default_rng(8)
    d = {}
    for i in range(10):
        for part in PARTS:
            W = rng.standard_normal((48, 120))
            if part == "intermediate.dense":
                W = W * rng.standard_t(2.5, size=(48, 1))
            d[f"encoder.layer.{i}.{part}.weight"] = W
    d["tiny"] = rng.standard_normal((2, 4))
    p = tmp_path_factory.mktemp("explains") / "bert.npz"
    np.savez(p, **d)
    return p


@pytest.fixture(scope="module")
def analysis(npz):
    return run(npz)


@pytest.fixture(scope="module")
def page(analysis, tmp_path_factory):
    path = write_report(analysis, tmp_path_factory.mktemp("rep"), title="bert-like")
    return path, path.read_text(encoding="utf-8")


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.hrefs = set(), []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "href" in a:
            self.hrefs.append(a["href"])


# -- the phases on the page -----------------------------------------------------------------
def test_glossary_defines_every_phase_and_unresolved(page):
    _, html = page
    glossary = html[html.index('<section class="glossary" id="phases">'):]
    glossary = glossary[:glossary.index("</section>")]
    for label in LABELS:                         # the six phases + unresolved
        assert f'<dt id="phase-{label}">' in glossary
    assert len(LABELS) == 7
    assert "docs/phases.md" in glossary
    # the thresholds are the library's, not a copy
    assert f"κ &lt; {ph.KAPPA_HEAVY:g}" in glossary and f"κ ≥ {ph.KAPPA_HEAVY:g}" in glossary
    assert f"{ph.GAP_FACTOR:g} Tracy–Widom" in glossary
    assert f"more than {ph.ZERO_FRACTION:.0%}" in glossary


def test_every_badge_links_to_its_definition(page, analysis):
    _, html = page
    p = _Ids()
    p.feed(html)
    phase_links = [h for h in p.hrefs if h.startswith("#phase-")]
    # one per table row and one per layer card with a phase
    n_phased = int((analysis.table["phase"] != "").sum())
    assert len(phase_links) == 2 * n_phased > 0
    assert all(h[1:] in p.ids for h in p.hrefs if h.startswith("#"))    # no dangling link
    assert not re.search(r"(src|href)=\"(https?:)?//", html)           # still nothing external


def test_table_has_the_depth_column_of_the_overview(page, analysis):
    _, html = page
    table = html[html.index("<table>"):html.index("</table>")]
    assert "<th class=\"\">#</th>" in table
    assert 'title="position on the overview\'s x-axis">29</td>' in table
    assert "encoder.layer.9.intermediate.dense.weight" in table          # full names kept


# -- the power law on the log-log panel ------------------------------------------------------
def _heavy(analysis):
    t = analysis.table
    ok = t[np.isfinite(t["alpha"].astype(float)) & (t["n_tail"].astype(float) > 0)]
    return ok.iloc[0]


def test_power_law_is_drawn_on_the_log_log_panel(analysis):
    r = _heavy(analysis)
    eigs = analysis.spectra[r["name"]]
    fig, (ax,) = new_figure(5, 3.5)
    plot_esd(eigs, layer_fit(r), ax=ax, loglog=True)
    line = next(ln for ln in ax.get_lines() if ln.get_label().startswith("power law α"))
    x, y = line.get_data()
    alpha, xmin, n_tail = float(r["alpha"]), float(r["xmin"]), float(r["n_tail"])
    # closed form: share * (alpha-1)/xmin * (x/xmin)^-alpha, starting at xmin
    assert x[0] == pytest.approx(xmin, rel=1e-12)
    want = n_tail / len(eigs) * (alpha - 1) / xmin * (x / xmin) ** -alpha
    np.testing.assert_allclose(y, want, rtol=1e-12)
    assert f"α = {alpha:.3g}" in line.get_label()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("power law α") for t in legend)
    assert any(t.startswith("power-law xmin") for t in legend)


def test_linear_panel_has_no_power_law_line_but_marks_xmin(analysis):
    r = _heavy(analysis)
    fig, (ax,) = new_figure(5, 3.5)
    plot_esd(analysis.spectra[r["name"]], layer_fit(r), ax=ax, loglog=False)
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert not any(lab.startswith("power law α") for lab in labels)
    assert any(lab.startswith("power-law xmin") for lab in labels)


# -- axis labels, and no overlapping labels -------------------------------------------------
def test_every_esd_panel_has_axis_labels(analysis):
    r = _heavy(analysis)
    axes = htmp.plot_layer(analysis, r["name"], ax=list(new_figure(10, 3.4, ncols=2)[1]))
    for ax in axes:
        assert ax.get_xlabel() == "eigenvalue λ of WWᵀ/M" and ax.get_ylabel() == "density"


def _overlaps(boxes):
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
            if boxes[i].overlaps(boxes[j])]


def test_overview_names_its_layers_without_overlap(analysis):
    t = analysis.table
    fig = overview_figure(t[t["name"] != "tiny"])           # the 30 encoder layers
    ax_k, ax_a = fig.axes[:2]
    assert ax_a.get_xlabel().startswith("layer, in depth order")
    assert "“encoder.layer.” and “.weight” left out" in ax_a.get_xlabel()
    assert ax_k.get_ylabel() and ax_a.get_ylabel()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ticks = [t for t in ax_a.get_xticklabels() if t.get_text()]
    assert [t.get_text() for t in ticks][:3] == ["0.attention.output.dense",
                                                 "0.attention.self.query",
                                                 "0.intermediate.dense"]
    assert len(ticks) == 30
    boxes = [t.get_window_extent(renderer) for t in ticks]
    assert _overlaps(boxes) == []
    xlabel = ax_a.xaxis.label.get_window_extent(renderer)
    fig_box = fig.bbox
    for b in boxes + [xlabel]:                  # everything inside the figure
        assert b.x0 >= fig_box.x0 - 1 and b.y0 >= fig_box.y0 - 1
        assert b.x1 <= fig_box.x1 + 1 and b.y1 <= fig_box.y1 + 1
    assert not any(b.overlaps(xlabel) for b in boxes)


def test_many_layers_thin_the_names():
    import pandas as pd

    n = 150
    t = pd.DataFrame({"name": [f"blocks.{i}.mlp.fc.weight" for i in range(n)],
                      "phase": [""] * n, "kappa": np.nan, "kappa_lo": np.nan,
                      "kappa_hi": np.nan, "alpha": np.linspace(2, 5, n), "htmp_status": ""})
    fig = overview_figure(t)
    ax_a = fig.axes[1]
    fig.canvas.draw()
    ticks = [x for x in ax_a.get_xticklabels() if x.get_text()]
    assert len(ticks) <= 60 and "every 3th written" in ax_a.get_xlabel()
    assert _overlaps([x.get_window_extent() for x in ticks]) == []


def test_short_names_keep_what_differs():
    names = ["encoder.layer.11.attention.self.query.weight",
             "encoder.layer.2.attention.self.key.weight"]
    labels, pre, suf = short_names(names)
    assert (pre, suf) == ("encoder.layer.", ".weight")
    assert labels == ["11.attention.self.query", "2.attention.self.key"]
    long, _, _ = short_names(["a" * 40], width=28)
    assert len(long[0]) == 28 and "…" in long[0]
    assert short_names(["x.$y$"])[0] == [r"x.\$y\$"]            # no mathtext from a name


# -- htmp.plot_layer ------------------------------------------------------------------------
def test_plot_layer_returns_its_axes(analysis):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    name = _heavy(analysis)["name"]
    axes = htmp.plot_layer(analysis, name)
    assert len(axes) == 2 and all(isinstance(a, matplotlib.axes.Axes) for a in axes)
    assert axes[0].get_title(loc="left") == "linear"
    assert axes[1].get_title(loc="left") == "log–log"
    assert axes[1].get_xscale() == "log"
    plt.close(axes[0].figure)
    fig, ax = plt.subplots()
    assert htmp.plot_layer(analysis, name, ax=ax) is ax
    assert ax.get_xscale() == "log"
    assert any(ln.get_label().startswith("power law α") for ln in ax.get_lines())
    plt.close(fig)
    assert htmp.plot_layer is htmp.plotting.plot_layer and "plot_layer" in htmp.__all__


def test_plot_layer_errors_name_the_argument(analysis, npz):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=r"name must be a layer of this analysis .*got 'nope'"):
        htmp.plot_layer(analysis, "nope", ax=ax)
    with pytest.raises(ValueError, match=r"'tiny' has status 'skipped'"):
        htmp.plot_layer(analysis, "tiny", ax=ax)
    with pytest.raises(TypeError, match="result must be an htmp.analysis.Analysis"):
        htmp.plot_layer(analysis.table, "tiny", ax=ax)
    with pytest.raises(ValueError, match="ax must be None, one Axes or two"):
        htmp.plot_layer(analysis, _heavy(analysis)["name"], ax=[ax, ax, ax])
    plt.close(fig)


def test_plot_layer_draws_what_the_report_card_draws(analysis):
    """plot_layer and the report's card: the same curves from the same row."""
    r = _heavy(analysis)
    fig, (a1, a2) = new_figure(10, 3.4, ncols=2)
    plot_esd(analysis.spectra[r["name"]], layer_fit(r), ax=a1)
    plot_esd(analysis.spectra[r["name"]], layer_fit(r), ax=a2, loglog=True, legend="tail")
    fig2, (b1, b2) = new_figure(10, 3.4, ncols=2)
    htmp.plot_layer(analysis, r["name"], ax=(b1, b2))
    for a, b in ((a1, b1), (a2, b2)):
        assert [ln.get_label() for ln in a.get_lines()] == [ln.get_label() for ln in b.get_lines()]
        for la, lb in zip(a.get_lines(), b.get_lines()):
            np.testing.assert_array_equal(la.get_ydata(), lb.get_ydata())


# -- in a browser ---------------------------------------------------------------------------
def test_browser_renders_the_glossary_and_its_links(page, tmp_path):
    """Headless Chromium (as tests/test_report_browser.py): the glossary is in the rendered
    DOM, every #phase- link has its target, and the page logs nothing."""
    pytest.importorskip("torch")             # test_report_browser imports torch at the top
    from test_report_browser import browse, console_lines

    path, _ = page
    r = browse(path, tmp_path, "--dump-dom")
    assert r.returncode == 0, r.stderr[-2000:]
    p = _Ids()
    p.feed(r.stdout)
    assert {f"phase-{label}" for label in LABELS} <= p.ids and "phases" in p.ids
    assert all(h[1:] in p.ids for h in p.hrefs if h.startswith("#"))
    assert console_lines(r.stderr) == [], console_lines(r.stderr)

"""``write_report``: analyses -> one self-contained HTML file (inline CSS, PNG data URIs)."""
from __future__ import annotations

import math
import re
from pathlib import Path

from ..analysis import Analysis, RunAnalysis, kappa_text, weak_reasons
from ..nn import depth_key
from ._safe import printable
from ._text import _e, fmt, layer_notes, phase_glossary, summary_cards
from .figures import (
    PHASE_COLORS,
    layer_fit,
    new_figure,
    plot_esd,
    plot_models,
    plot_overview,
    plot_phase_grid,
    short_names,
    to_data_uri,
)

__all__ = ["write_report"]

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
 margin:0;background:#f6f7f9;color:#1d2330}
main{max-width:1120px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:26px;margin:8px 0 4px}h2{font-size:21px;margin:34px 0 6px;
 border-bottom:2px solid #d9dde5;padding-bottom:4px}h3{font-size:16px;margin:0 0 6px;
 font-family:ui-monospace,"DejaVu Sans Mono",monospace;word-break:break-all}
.sub{color:#5b6473;font-size:13px}.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
.card{background:#fff;border:1px solid #e1e4ea;border-radius:8px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:20px}.card span{color:#5b6473;font-size:12px}
img{max-width:100%;height:auto;display:block}figure{margin:8px 0}
figcaption{color:#5b6473;font-size:12.5px}
table{border-collapse:collapse;font-size:12.5px;background:#fff;width:100%}
th,td{border-bottom:1px solid #e6e8ee;padding:3px 7px;text-align:right;white-space:nowrap}
th{background:#eef0f4;position:sticky;top:0}td.l,th.l{text-align:left}
td.name{font-family:ui-monospace,"DejaVu Sans Mono",monospace;max-width:340px;overflow:hidden;
 text-overflow:ellipsis}.tablewrap{max-height:480px;overflow:auto;border:1px solid #e1e4ea}
.badge{display:inline-block;border-radius:10px;padding:1px 9px;color:#fff;font-size:12px;
 font-weight:600;vertical-align:middle}
section.layer{background:#fff;border:1px solid #e1e4ea;border-radius:10px;padding:14px 18px;
 margin:16px 0}section.layer ul{margin:6px 0 0;padding-left:20px;font-size:13.5px}
.warn{color:#a15c00}.bad{color:#b42318}.muted{color:#8a93a3}
a{color:#2b5fad;text-decoration:none}nav.toc{font-size:13.5px;margin:8px 0}
nav.toc a{margin-right:16px}
dl.phases{display:grid;grid-template-columns:max-content 1fr;gap:6px 14px;font-size:13.5px;
 background:#fff;border:1px solid #e1e4ea;border-radius:10px;padding:12px 16px}
dl.phases dt{margin:0}dl.phases dd{margin:0}
"""


def _pairs(analyses) -> list:
    if isinstance(analyses, Analysis):
        return [(analyses.source, analyses)]
    try:
        pairs = list(analyses)
    except TypeError:
        pairs = None
    ok = pairs and all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[1], Analysis)
                       for p in pairs)
    if not ok:
        raise TypeError(f"analyses must be an htmp.analysis.Analysis or a non-empty sequence "
                        f"of (label, Analysis) pairs, got {type(analyses).__name__}")
    return [(str(label), a) for label, a in pairs]


def _badge(phase: str) -> str:
    """The phase as a coloured badge, linked to its definition in the glossary."""
    color = PHASE_COLORS.get(phase, PHASE_COLORS[""])
    text = _e(phase or "no phase")
    badge = f'<span class="badge" style="background:{color}">{text}</span>'
    return f'<a href="#phase-{phase}">{badge}</a>' if phase in PHASE_COLORS and phase \
        else badge


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text)


_COLS = [("#", "#", ""), ("name", "layer", "l"), ("shape", "shape", "l"), ("gamma", "γ", ""),
         ("n_spikes", "MP spikes", ""), ("kappa", "κ (95%)", ""), ("mp_ks", "KS MP", ""),
         ("htmp_ks", "KS HTMP", ""), ("loglik_ratio", "log LR", ""),
         ("fit_quality", "fit", "l"), ("alpha", "α", ""), ("phase", "phase", "l"),
         ("status", "status", "l")]


def _table(rows, anchor) -> str:
    head = "".join(f'<th class="{c}">{h}</th>' for _, h, c in _COLS)
    body = []
    for depth, r in enumerate(rows):
        cells = []
        for col, _, cls in _COLS:
            v = r[col] if col != "#" else depth
            if col == "#":
                cells.append(f'<td title="position on the overview\'s x-axis">{depth}</td>')
            elif col == "name":
                cells.append(f'<td class="l name"><a href="#{anchor}-{_slug(str(v))}" '
                             f'title="{_e(str(v))}">{_e(str(v))}</a></td>')
            elif col == "phase":
                weak = weak_reasons(r)
                mark = (f' <span class="warn" title="{_e("; ".join(weak))}">(weak)</span>'
                        if weak else "")
                cells.append(f'<td class="l">{_badge(str(v)) if v else ""}{mark}</td>')
            elif col == "kappa":
                cells.append(f'<td title="{_e(str(r["htmp_status"]))}">'
                             f'{_e(kappa_text(r))}</td>')
            elif col == "fit_quality":
                cells.append(f'<td class="l{" warn" if v == "poor" else ""}">'
                             f'{_e(str(v))}</td>')
            else:
                cells.append(f'<td class="{cls}">{_e(fmt(v))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="tablewrap"><table><thead><tr>{head}</tr></thead><tbody>'
            + "".join(body) + "</tbody></table></div>")


# fixed layouts: "constrained" doubles the time to save a figure
_ESD_MARGINS = dict(left=0.065, right=0.99, bottom=0.15, top=0.91, wspace=0.2)
_OVERVIEW_MARGINS = dict(left=0.1, right=0.85, bottom=0.1, top=0.97, hspace=0.08)
_MODELS_MARGINS = dict(left=0.08, right=0.85, bottom=0.22, top=0.95, wspace=0.5)


def _layer_section(r, eigs, anchor, dpi) -> str:
    name = str(r["name"])
    parts = [f'<section class="layer" id="{anchor}-{_slug(name)}">',
             f"<h3>{_e(name)} {_badge(str(r['phase'])) if r['phase'] else ''}</h3>",
             f'<div class="sub">{_e(str(r["type"]))}, shape {_e(str(r["shape"]))}'
             f", N = {fmt(r['N'])}, M = {fmt(r['M'])}, γ = N/M = {fmt(r['gamma'])}</div>"]
    if eigs is not None:
        fit = layer_fit(r)

        def draw():
            fig, (a1, a2) = new_figure(10.0, 3.3, ncols=2, margins=_ESD_MARGINS)
            plot_esd(eigs, fit, ax=a1, loglog=False)
            plot_esd(eigs, fit, ax=a2, loglog=True, legend="tail")
            return fig
        parts.append(_figure(draw, f"ESD of {name}", dpi))
    parts.append("<ul>" + "".join(f'<li class="{c}">{t}</li>' for c, t in layer_notes(r))
                 + "</ul></section>")
    return "\n".join(parts)


_FIGURE_ERROR_CHARS = 300


def _figure(draw, alt: str, dpi: int, caption: str = "") -> str:
    """``<figure>`` with the PNG that ``draw()`` returns, or a card saying why it could not
    be drawn: a figure that fails (NaN limits, an unplottable spectrum, a font that cannot
    render a name) costs its own card, never the table or the report."""
    try:
        uri = to_data_uri(draw(), dpi=dpi)
    except Exception as err:  # noqa: BLE001 - any drawing failure becomes the card
        why = f"{type(err).__name__}: {err}"
        if len(why) > _FIGURE_ERROR_CHARS:
            why = why[:_FIGURE_ERROR_CHARS - 1] + "…"
        return (f'<figure class="failed"><div class="card bad">Figure not drawn ({_e(alt)}): '
                f"{_e(why)}</div></figure>")
    cap = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f'<figure><img alt="{_e(alt)}" src="{uri}">{cap}</figure>'


def _int(v) -> int:
    try:
        return 0 if v is None or (isinstance(v, float) and math.isnan(v)) else int(v)
    except (TypeError, ValueError):
        return 0


_OVERVIEW_CAPTION = (
    "Top: HTMP κ per layer with its 95 % interval (κ → ∞ is Marchenko–Pastur; smaller κ, "
    "wider bulk; shaded: κ &lt; 2, the heavy-tailed range of the phase rules). Hollow ▲: "
    "MP-like, κ = ∞, drawn at its 95 % lower limit; hollow ▼: κ below the search range, "
    "drawn at its upper limit: bounds, not values. Bottom: WeightWatcher-compatible "
    "power-law α of the tail (shaded 2–6: WeightWatcher's usual range). Missing points: "
    "no κ (too few eigenvalues, or the fit was not made or failed; see the layer). "
    "x-axis: the layers in depth order, names shortened; column # of the table below is "
    "the position and gives the full name.")


def overview_figure(table):
    """The overview figure (κ and α by layer) of one table, sized so that the vertical
    layer names under it fit (7 pt, about 0.056 in a character)."""
    longest = max((len(x) for x in short_names(table["name"].tolist())[0]), default=1)
    below = 0.5 + 0.056 * longest
    height = 4.4 + below
    fig, axes = new_figure(10.0, height, nrows=2,
                           margins=dict(_OVERVIEW_MARGINS, bottom=below / height))
    plot_overview(table, axes=axes)
    return fig


def _model_section(label, a: Analysis, idx: int, dpi: int) -> str:
    anchor = f"m{idx}"
    t = a.table
    order = sorted(range(len(t)), key=lambda i: depth_key(str(t["name"].iloc[i])))
    rows = [t.iloc[i] for i in order]

    def draw():
        return overview_figure(t)
    out = [f'<section class="model" id="{anchor}"><h2>{_e(label)}</h2>',
           f'<div class="sub">source: {_e(a.source)}</div>',
           summary_cards(a.summary),
           _figure(draw, "kappa and alpha by layer depth", dpi, _OVERVIEW_CAPTION),
           "<h3 style='font-family:inherit'>Layers</h3>", _table(rows, anchor)]
    for r in rows:
        out.append(_layer_section(r, a.spectra.get(str(r["name"])), anchor, dpi))
    out.append("</section>")
    return "\n".join(out)


def _comparison(pairs, dpi) -> str:
    labels = [printable(lab) for lab, _ in pairs]

    def draw_models():
        fig, axes = new_figure(10.0, 3.4, ncols=2, margins=_MODELS_MARGINS)
        plot_models(labels, [a.summary for _, a in pairs], axes=axes)
        return fig
    models = _figure(draw_models, "models compared", dpi,
                     "Left: median over layers of the measured κ and of α (κ at a search "
                     "end, MP-like or below the range, is left out: a bound is not a value). "
                     "Right: number of layers in each phase.")
    grid = ""
    tables = [a.table for _, a in pairs]
    n_common = len(set.intersection(*[set(t["name"]) for t in tables]))
    if n_common:
        def draw_grid():
            fig, (ax,) = new_figure(2.2 + 1.1 * len(pairs), 1.0 + 0.3 * n_common)
            plot_phase_grid(labels, tables, ax=ax)
            return fig
        grid = _figure(draw_grid, "phase of each layer in each model", dpi,
                       f"Phase of each layer (rows: the {n_common} layer names all models "
                       "share) in each model (columns); the text is the fitted HTMP κ (MP: "
                       "MP-like, κ = ∞; ≤x: below the search range; empty: no κ fit).")
    toc = "".join(f'<a href="#m{i}">{_e(lab)}</a>' for i, (lab, _) in enumerate(pairs))
    return ("<h2>Models side by side</h2>" + models + grid +
            f'<nav class="toc">jump to: {toc}</nav>')


_RUN_LAYER_MARGINS = dict(left=0.1, right=0.98, bottom=0.2, top=0.88, wspace=0.32)


def _run_section(r: RunAnalysis, dpi: int) -> str:
    """The run told over training: the layer x checkpoint phase map, then per layer its
    kappa and alpha against step."""
    from .run_figures import plot_run_layer, plot_run_phases, run_axis

    t = r.table
    labels, _, xlabel = run_axis(t)
    names = sorted(dict.fromkeys(t["name"].astype(str)), key=depth_key)
    ckpts = ", ".join(_e(lab) + (f" (step {s})" if s is not None else "")
                      for lab, s in zip(r.labels, r.steps))
    n_missing = int((t["status"] == "missing").sum())

    def draw_map():
        fig, (ax,) = new_figure(min(3.5 + 0.45 * len(labels), 14.0),
                                min(1.6 + 0.28 * len(names), 16.0))
        plot_run_phases(t, ax=ax)
        return fig
    out = ['<section class="run" id="run">',
           f"<h2>Training run: {len(labels)} checkpoints</h2>",
           f'<div class="sub">source: {_e(r.source)}<br>checkpoints, in order: {ckpts}'
           + (f'<br><span class="warn">{n_missing} layer(s) missing from some checkpoints '
              "(× in the map; status \"missing\" in the table)</span>" if n_missing else "")
           + "</div>",
           _figure(draw_map, "phase of each layer at each checkpoint", dpi,
                   "Phase of each layer (rows, depth order) at each checkpoint (columns, "
                   f"{_e(xlabel)}): the phase picture told over training. Grey: no phase "
                   "(skipped, failed or not fitted); white ×: the checkpoint has no such "
                   "layer."),
           "<h3 style='font-family:inherit'>κ and α of each layer over the run</h3>",
           '<div class="sub">Left: HTMP κ with its 95 % interval (log axis; an interval '
           "open above runs to the panel top; hollow ▲: MP-like, κ = ∞, at its lower limit; "
           "hollow ▼: below the search range, at its upper limit: bounds, not values; "
           "shaded: κ &lt; 2). Right: power-law α (shaded 2–6). Colour and marker: the phase "
           "at that checkpoint. No point: the layer is missing there or has no fit.</div>"]
    for name in names:
        def draw(name=name):
            fig, axes = new_figure(10.0, 2.9, ncols=2, margins=_RUN_LAYER_MARGINS)
            plot_run_layer(t, name, axes=axes)
            return fig
        out += [f'<section class="layer-run" id="run-{_slug(name)}"><h3>{_e(name)}</h3>',
                _figure(draw, f"kappa and alpha of {name} over the run", dpi), "</section>"]
    out.append("</section>")
    return "\n".join(out)


def _run_pairs(r: RunAnalysis) -> list:
    """The checkpoints drawn in full: the first and the last."""
    pairs = r.pairs
    return pairs if len(pairs) <= 2 else [pairs[0], pairs[-1]]


def write_report(analyses, out_dir, *, title: str = "htmp report", dpi: int = 96,
                 extra_sections=None) -> Path:
    """Write ``out_dir/index.html`` and return its path.

    ``analyses``: one :class:`htmp.analysis.Analysis` (from :func:`htmp.analysis.run`) or a
    sequence of ``(label, Analysis)`` pairs, drawn in that order (e.g. one per training
    batch size).  The file is self-contained: inline CSS, figures as base64 PNG data
    URIs, no JavaScript, nothing fetched; it opens offline.  Per model: summary numbers,
    κ and α by layer depth (phase as colour/marker), a per-layer table, and per layer a
    ``<section class="layer">`` with the ESD (linear and log-log) and the fitted MP/HTMP
    densities, the phase and the fit statuses in words.

    A :class:`htmp.analysis.RunAnalysis` (``run`` of several checkpoints) is drawn as a
    run: the layer x checkpoint phase map, per layer κ and α against step, then the first
    and the last checkpoint in full.

    ``extra_sections``: ``(heading, html)`` pairs appended after the models, each as a
    ``<section class="extra">`` under an ``<h2>`` heading (escaped); ``html`` is inserted
    as is, so it must be markup the caller built (e.g. :func:`htmp.report.feature_section`).
    """
    is_run = isinstance(analyses, RunAnalysis)
    pairs = _run_pairs(analyses) if is_run else _pairs(analyses)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from .. import __version__

    what = f"{len(analyses.labels)} checkpoints of a run" if is_run else f"{len(pairs)} model(s)"
    body = [f"<h1>{_e(title)}</h1>",
            f'<div class="sub">htmp {_e(__version__)} · {what}. '
            "ESD = eigenvalues of WWᵀ/M (N = min dim, M = max dim). MP and HTMP are fitted the "
            "same way (maximum likelihood) to the same eigenvalues: the same top eigenvalues "
            "set aside as spikes, numerically zero ones counted as below the tolerance; their "
            "curves are scaled by the share of eigenvalues they describe. Phase labels come "
            "from fixed rules on that evidence, calibrated on simulated spectra (docs/phases.md): "
            "a summary of the fits, not an independent measurement; each layer says why it got "
            "its label, and weak verdicts are marked.</div>", phase_glossary()]
    if is_run:
        body.append(_run_section(analyses, dpi))
        body.append("<h2>First and last checkpoints in full</h2>" if len(analyses.labels) > 2
                    else "<h2>Checkpoints in full</h2>")
    elif len(pairs) > 1:
        body.append(_comparison(pairs, dpi))
    body += [_model_section(lab, a, i, dpi) for i, (lab, a) in enumerate(pairs)]
    for heading, fragment in extra_sections or ():
        body.append(f'<section class="extra" id="x-{_slug(str(heading))}">'
                    f"<h2>{_e(heading)}</h2>\n{fragment}</section>")
    doc = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
           f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
           f"<body><main>\n" + "\n".join(body) + "\n</main></body></html>\n")
    path = out / "index.html"
    # every text went through _e (surrogates escaped); backslashreplace is the last guard
    path.write_text(doc, encoding="utf-8", errors="backslashreplace")
    return path

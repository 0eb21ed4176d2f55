"""``feature_section``: fits of feature spectra (:func:`htmp.features.fit_feature_spectrum`)
as an HTML fragment for :func:`htmp.report.write_report`'s ``extra_sections``."""
from __future__ import annotations

import math

from ._text import _e, fmt

__all__ = ["feature_section"]

_MARGINS = dict(left=0.07, right=0.99, bottom=0.15, top=0.9, wspace=0.22)
_COLUMNS = (("n", "n"), ("γ", "gamma"), ("edge exponent", "edge_exponent"),
            ("edge KS", "edge_ks"), ("edge fit", "edge_fit_quality"),
            ("κ", "kappa"), ("κ 95 %", None), ("inv. HTMP KS", "inverse_htmp_ks"),
            ("inv. HTMP fit", "inverse_htmp_fit_quality"),
            ("edge exp. from κ", "kappa_edge_exponent"), ("tail α", "alpha"),
            ("tail index α−1", "tail_index"), ("xmin", "xmin"), ("n tail", "n_tail"),
            ("power-law KS", "powerlaw_ks"), ("status", "status"))


def _cell(fits, key) -> str:
    if key is None:
        lo, hi = fits.kappa_lo, fits.kappa_hi
        return "" if math.isnan(lo) and math.isnan(hi) else f"[{fmt(lo)}, {fmt(hi)}]"
    if key == "kappa" and fits.inverse_htmp_status == "skipped":
        return "skipped"
    return fmt(getattr(fits, key))


def feature_section(items, *, dpi: int = 96, intro: str = "") -> str:
    """HTML: one table row and one figure (linear and log-log ESD with the fitted densities,
    :func:`htmp.features.plot_feature_fits`) per item.

    ``items``: ``(label, spectrum, fits)`` triples; ``fits`` a
    :class:`htmp.features.FeatureFits`, or a string saying why there is none (shown as is,
    escaped).  ``intro``: plain text put above the table (escaped).
    """
    from ..features import FeatureFits, plot_feature_fits
    from .figures import new_figure
    from .html import _figure

    items = [(str(lab), str(kind), f) for lab, kind, f in items]
    head = "".join(f"<th>{_e(h)}</th>" for h, _ in _COLUMNS)
    rows, figs = [], []
    for lab, kind, f in items:
        name = f'<td class="l">{_e(lab)}</td><td class="l">{_e(kind)}</td>'
        if not isinstance(f, FeatureFits):
            rows.append(f'<tr>{name}<td class="l bad" colspan="{len(_COLUMNS)}">'
                        f"not fitted: {_e(f)}</td></tr>")
            continue
        rows.append(f"<tr>{name}" + "".join(f"<td>{_e(_cell(f, k))}</td>" for _, k in _COLUMNS)
                    + "</tr>")

        def draw(f=f):
            fig, (a1, a2) = new_figure(10.0, 3.3, ncols=2, margins=_MARGINS)
            plot_feature_fits(f, ax=a1)
            plot_feature_fits(f, ax=a2, loglog=True)
            return fig
        note = f" {_e(f.message)}" if f.message else ""
        figs.append(_figure(draw, f"feature spectrum {lab} {kind}", dpi,
                            caption=f"{_e(lab)} · {_e(kind)}: ESD (linear, up to the 95th "
                                    f"percentile; log-log) with the fitted densities.{note}"))
    table = ('<div class="tablewrap"><table><tr><th class="l">model</th>'
             f'<th class="l">spectrum</th>{head}</tr>' + "".join(rows) + "</table></div>")
    pre = f'<div class="sub">{_e(intro)}</div>' if intro else ""
    return pre + table + "\n".join(figs)

"""``feature_section``: fits of feature spectra (:func:`htmp.features.fit_feature_spectrum`)
as an HTML fragment for :func:`htmp.report.write_report`'s ``extra_sections``."""
from __future__ import annotations

from ..analysis import kappa_text
from ._text import _e, fmt

__all__ = ["feature_section", "feature_kappa_text"]

_MARGINS = dict(left=0.07, right=0.99, bottom=0.15, top=0.9, wspace=0.22)
_COLUMNS = (("n", "n"), ("γ", "gamma"), ("edge exponent", "edge_exponent"),
            ("edge KS", "edge_ks"), ("edge fit", "edge_fit_quality"),
            ("κ (95 %)", "kappa"), ("inv. HTMP KS", "inverse_htmp_ks"),
            ("inv. HTMP fit", "inverse_htmp_fit_quality"),
            ("edge exp. from κ", "kappa_edge_exponent"), ("tail α", "alpha"),
            ("tail index α−1", "tail_index"), ("xmin", "xmin"), ("n tail", "n_tail"),
            ("power-law KS", "powerlaw_ks"), ("status", "status"))


def feature_kappa_text(fits) -> str:
    """κ of a feature fit as the table writes it: a value with its interval, "MP-like (≥ lo)"
    or "≤ hi" at a search end (never the bound as a value), "skipped" without γ."""
    if fits.inverse_htmp_status == "skipped":
        return "skipped"
    return kappa_text({"htmp_status": fits.inverse_htmp_status, "kappa": fits.kappa,
                       "kappa_lo": fits.kappa_lo, "kappa_hi": fits.kappa_hi})


def _cell(fits, key) -> str:
    if key == "kappa":
        return feature_kappa_text(fits)
    if key == "edge_exponent" and fits.edge_status != "ok":
        return f"none ({fits.edge_status})"
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

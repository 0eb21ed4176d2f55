"""Plain-language text of the report: numbers, per-layer notes, summary cards."""
from __future__ import annotations

import html
import math

from ..analysis import cell_float, kappa_text, weak_reasons
from ._safe import printable

__all__ = ["fmt", "layer_notes", "summary_cards", "phase_glossary", "phase_definitions"]

SMALL_TAIL = 50      # a power-law fit on fewer tail eigenvalues gets a caution


def fmt(v) -> str:
    """A number in 4 significant digits, '' for NaN/NA; text as is."""
    if v is None:
        return ""
    try:
        if isinstance(v, str):
            return v
        f = float(v)
    except (TypeError, ValueError):
        return "" if str(v) == "<NA>" else str(v)
    if math.isnan(f):
        return ""
    return str(int(f)) if f.is_integer() and abs(f) < 1e9 else f"{f:.4g}"


def _e(text) -> str:
    """HTML text of anything: control characters and lone surrogates escaped, then markup."""
    return html.escape(printable(text))


def _mp_note(r):
    st = r["mp_status"]
    if st == "failed" or (st == "" and not math.isfinite(cell_float(r["mp_scale"]))):
        return "bad", f"MP fit failed: {_e(_msg(r, 'mp'))}"
    if st == "":
        return "muted", "MP fit not requested."
    ns = int(cell_float(r["n_spikes"])) if math.isfinite(cell_float(r["n_spikes"])) else 0
    spikes = ("no eigenvalue above the spike threshold" if ns == 0 else
              f"{ns} eigenvalue{'s' if ns > 1 else ''} above the spike threshold "
              f"{fmt(r['mp_threshold'])}")
    return "", (f"Marchenko–Pastur spike model: σ² = {fmt(r['mp_scale'])} (mean of the bulk), "
                f"bulk edge {fmt(r['mp_bulk_max'])}; {spikes} (Johnstone's edge + 3 "
                f"Tracy–Widom scales).")


def _comparison_note(r):
    """MP and HTMP on the same eigenvalues: the evidence behind the label."""
    st = r["htmp_status"]
    if st == "":
        return "muted", "MP vs HTMP comparison not made (not requested, or it raised: see below)."
    if st == "failed":
        return "bad", f"MP vs HTMP comparison failed: {_e(_msg(r, 'htmp'))}"
    n_used, aside = fmt(r["n_used"]), cell_float(r["n_set_aside"])
    zero = cell_float(r["n_zero"])
    setdesc = f"the same {n_used} eigenvalues"
    extra = []
    if aside > 0:
        extra.append(f"the top {fmt(aside)} set aside as spikes for both laws")
    if cell_float(r["n_excess"]) > 0:
        extra.append(f"{fmt(r['n_excess'])} more MP spikes beyond the spike budget kept in")
    if zero > 0:
        extra.append(f"{fmt(zero)} numerically zero ones counted as 'below the tolerance'")
    if extra:
        setdesc += " (" + "; ".join(extra) + ")"
    ks = (f"KS distance MP {fmt(r['mp_ks'])}" + (f", HTMP {fmt(r['htmp_ks'])}"
                                                 if math.isfinite(cell_float(r["htmp_ks"])) else "")
          + f" (95 % critical value {fmt(r['ks_crit'])})")
    if st == "too-few":
        return "warn", (f"On {setdesc}: {ks}. Too few eigenvalues for a κ fit: no κ, and no "
                        "label that needs one.")
    k = kappa_text(r)
    llr = fmt(r["loglik_ratio"])
    if st == "mp-like":
        kap = (f"the likelihood is flat towards MP: κ = ∞ (MP-like), κ ≥ {fmt(r['kappa_lo'])} "
               "at 95 %")
    elif st == "at-lower-bound":
        kap = (f"κ is below the search range ({k}, 95 % upper limit); no point value")
    else:
        kap = f"κ = {k} (nominal 95 % profile-likelihood interval)"
    cls = "warn" if str(r["fit_quality"]) == "poor" or st == "max-iter" else ""
    return cls, (f"MP and HTMP fitted the same way (maximum likelihood, scale free, γ = N/(M+1) "
                 f"= {fmt(r['gamma_eff'])}) on {setdesc}: {ks}; log-likelihood ratio HTMP vs MP "
                 f"{llr}; {kap}. Fit quality of the preferred law: {_e(r['fit_quality'])}.")


def _pl_note(r):
    st = r["powerlaw_status"]
    if st == "":
        return "muted", "Power-law fit not made."
    if st != "ok" and not math.isfinite(cell_float(r["alpha"])):
        return "bad", f"Power-law fit {st}: {_e(_msg(r, 'powerlaw'))}"
    nt = cell_float(r["n_tail"])
    se = fmt(r["alpha_se"])
    text = (f"Power-law tail (WeightWatcher-compatible): α = {fmt(r['alpha'])}"
            + (f" ± {se}" if se else "") + f", fitted to the {fmt(nt)} eigenvalues above "
            f"xmin = {fmt(r['xmin'])}.")
    if math.isfinite(nt) and nt < SMALL_TAIL:
        return "warn", text + f" Only {fmt(nt)} tail eigenvalues: α is poorly determined."
    if st != "ok":
        return "warn", text + f" Status: {_e(st)} ({_e(_msg(r, 'powerlaw'))})."
    return "", text


def _msg(r, step: str) -> str:
    parts = [p for p in str(r["message"]).split("; ") if p.startswith(step + ":")]
    return "; ".join(p.split(": ", 1)[1] for p in parts) or str(r["message"]) or "no detail"


def layer_notes(r) -> list:
    """[(css class, html text)] describing one table row in words."""
    st = r["status"]
    if st == "skipped":
        return [("muted", f"Not analysed: {_e(r['message'])}.")]
    if st == "failed":
        return [("bad", f"Could not be analysed: {_e(r['message'])}")]
    notes = []
    if r["phase"]:
        weak = weak_reasons(r)
        notes.append(("warn" if weak or r["phase"] == "unresolved" else "",
                      f"Why <b>{_e(r['phase'])}</b>: {_e(r['phase_reason'])}."
                      + (f" <b>Weak verdict</b>: {_e('; '.join(weak))}." if weak else "")))
    zero = cell_float(r["n_zero"])
    if math.isfinite(zero) and zero > 0:
        notes.append(("warn" if zero / cell_float(r["n_evals"]) > 0.2 else "",
                      f"{fmt(zero)} of {fmt(r['n_evals'])} eigenvalues are numerically zero "
                      f"(rank {fmt(r['rank'])})."))
    notes += [_comparison_note(r), _mp_note(r), _pl_note(r)]
    if st == "partial":
        notes.append(("bad", f"Some fits failed: {_e(r['message'])}"))
    return notes


def summary_cards(s) -> str:
    def card(value, label):
        return f'<div class="card"><b>{_e(value)}</b><span>{_e(label)}</span></div>'

    phases = ", ".join(f"{k} {v}" for k, v in s.phase_counts.items()) or "none"
    cards = [card(s.n_layers, "layers"),
             card(f"{s.n_ok} / {s.n_partial} / {s.n_failed} / {s.n_skipped}",
                  "ok / partial / failed / skipped"),
             card(fmt(s.kappa_median) or "–", f"median κ of {s.n_kappa} measured"),
             card(f"{s.n_mp_like} / {s.n_kappa_below}", "κ MP-like / below range"),
             card(s.n_poor_fit, "poor fits"),
             card(fmt(s.alpha_median) or "–", f"median α ({s.n_alpha} layers)")]
    return (f'<div class="cards">{"".join(cards)}</div>'
            f'<div class="sub">phases: {_e(phases)}. κ at a search end is a bound (MP-like: '
            "κ = ∞, the likelihood flat towards MP): counted, never averaged.</div>")


def phase_definitions() -> dict:
    """label -> (what it looks like, the rule that gives it), thresholds from the library."""
    from ..fitting import compare
    from ..fitting import phases as ph

    mp_ok = "MP fits (its KS distance within the 95 % critical value)"
    htmp_wins = (f"HTMP beats MP on the same eigenvalues (log-likelihood ratio ≥ "
                 f"{compare.LLR_MIN:g} and a smaller KS distance; needs ≥ "
                 f"{compare.MIN_KAPPA_EVALS} eigenvalues) and fits")
    return {
        "random-like": ("A Marchenko–Pastur bulk and nothing else: the weights look like "
                        "noise (untrained, or not learned from).",
                        f"{mp_ok}, and no eigenvalue lies beyond the bulk edge + 3 "
                        "Tracy–Widom scales."),
        "bleeding-out": ("An MP bulk with a few eigenvalues just leaving its edge: "
                         "structure starting to form.",
                         f"{mp_ok}; spikes beyond the edge, the largest gap above the bulk "
                         f"≤ {ph.GAP_FACTOR:g} Tracy–Widom margins."),
        "bulk+spikes": ("An MP bulk with clearly separated outliers: a few learned "
                        "directions on top of noise.",
                        f"{mp_ok}; a gap above the bulk > {ph.GAP_FACTOR:g} Tracy–Widom "
                        "margins."),
        "bulk-decay": ("A bulk wider than MP's, decaying into a longer tail (finite "
                       "repulsion κ): correlations spread through the layer.",
                       f"{htmp_wins}, with κ ≥ {ph.KAPPA_HEAVY:g}."),
        "heavy-tailed": ("A bulk at least twice as wide as MP's with mass down to zero "
                         "(small κ): strongly correlated, well-trained layers in the paper's "
                         "picture. The power-law α is reported beside it, not used.",
                         f"{htmp_wins}, with κ < {ph.KAPPA_HEAVY:g} (or below the search "
                         "range)."),
        "rank-collapse": ("Most of the spectrum near zero, or most of the energy in a few "
                          "eigenvalues: the layer has lost rank.",
                          f"more than {ph.ZERO_FRACTION:.0%} of the eigenvalues ≤ "
                          f"{ph.ZERO_REL:g} × the mean, or (≥ {ph.MIN_ENERGY_EVALS} "
                          f"eigenvalues) the top 5 % hold more than {ph.TOP_SHARE:.0%} of "
                          "the trace. Checked first."),
        "unresolved": ("Neither law describes the layer: no phase is claimed.",
                       "the preferred law (HTMP if it wins as above, else MP) fails its KS "
                       "test, or the positive eigenvalues are all equal."),
    }


def phase_glossary() -> str:
    """The report's glossary: each phase label, what it looks like and the rule behind it
    (``id="phase-<label>"``, the target of every phase badge)."""
    from .figures import PHASE_COLORS

    items = []
    for label, (looks, rule) in phase_definitions().items():
        items.append(f'<dt id="phase-{label}"><span class="badge" style="background:'
                     f'{PHASE_COLORS[label]}">{_e(label)}</span></dt>'
                     f"<dd>{_e(looks)} <span class=\"sub\">Rule: {_e(rule)}</span></dd>")
    return ('<section class="glossary" id="phases"><h2>The phases</h2>'
            '<div class="sub">The five + one phases of Martin &amp; Mahoney, decided by the '
            "first rule that fires, in the order rank-collapse, HTMP beats MP, MP stands. "
            "Rules, thresholds and their calibration on simulated spectra: "
            "<code>docs/phases.md</code> in the htmp source; <code>htmp.phase</code> in the "
            "library. A verdict marked (weak) rests on a poor fit, few eigenvalues, a κ "
            "interval containing 2 or a small likelihood ratio.</div>"
            f'<dl class="phases">{"".join(items)}</dl></section>')

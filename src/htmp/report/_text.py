"""Plain-language text of the report: numbers, per-layer notes, summary cards."""
from __future__ import annotations

import html
import math

__all__ = ["fmt", "layer_notes", "summary_cards"]

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


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _e(text: str) -> str:
    return html.escape(str(text))


def _mp_note(r):
    st = r["mp_status"]
    if st == "failed" or (st == "" and not math.isfinite(_num(r["mp_scale"]))):
        return "bad", f"MP fit failed: {_e(_msg(r, 'mp'))}"
    if st == "":
        return "muted", "MP fit not requested."
    ns = int(_num(r["n_spikes"])) if math.isfinite(_num(r["n_spikes"])) else 0
    spikes = ("no eigenvalue above the spike threshold" if ns == 0 else
              f"{ns} eigenvalue{'s' if ns > 1 else ''} above the spike threshold "
              f"{fmt(r['mp_threshold'])} (set aside as spikes)")
    return "", (f"Marchenko–Pastur fit: σ² = {fmt(r['mp_scale'])}, bulk edge "
                f"{fmt(r['mp_bulk_max'])}; {spikes}; KS distance of the bulk "
                f"{fmt(r['mp_ks'])}.")


def _htmp_note(r):
    st = r["htmp_status"]
    k = fmt(r["kappa"])
    if st == "skipped":
        return "muted", ("HTMP not fitted: the matrix is square (γ = 1) and HTMP needs "
                         "γ &lt; 1.")
    if st == "failed":
        return "bad", f"HTMP fit failed: {_e(_msg(r, 'htmp'))}"
    if st == "":
        return "muted", "HTMP fit not made (not requested, or the fit raised: see below)."
    if st == "mp-like":
        return "warn", (f"HTMP: κ reached its search cap ({k}). This bulk is not "
                        "distinguishable from Marchenko–Pastur by this fit; κ is only a lower "
                        "bound, and no HTMP curve is drawn (it would coincide with MP).")
    if st == "at-lower-bound":
        return "warn", (f"HTMP: κ reached its lower search bound ({k}); the fitted value is "
                        "a bound, the true κ may be smaller. No interval is given.")
    lo, hi = fmt(r["kappa_lo"]), fmt(r["kappa_hi"])
    ci = (f" (rough 95% interval {lo}–{hi} from the likelihood curvature; not calibrated)"
          if lo and hi else "")
    extra = " The search stopped at its iteration cap." if st == "max-iter" else ""
    return ("warn" if extra else ""), (f"HTMP fit: κ = {k}{ci}, σ² = {fmt(r['htmp_scale'])}, "
                                       f"KS distance {fmt(r['ks'])}.{extra}")


def _pl_note(r):
    st = r["powerlaw_status"]
    if st == "":
        return "muted", "Power-law fit not made."
    if st != "ok" and not math.isfinite(_num(r["alpha"])):
        return "bad", f"Power-law fit {st}: {_e(_msg(r, 'powerlaw'))}"
    nt = _num(r["n_tail"])
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
        notes.append(("", f"Phase: <b>{_e(r['phase'])}</b> — {_e(r['phase_reason'])}"))
    zero = _num(r["n_zero"])
    if math.isfinite(zero) and zero > 0:
        notes.append(("warn" if zero / _num(r["n_evals"]) > 0.2 else "",
                      f"{fmt(zero)} of {fmt(r['n_evals'])} eigenvalues are numerically zero "
                      f"(rank {fmt(r['rank'])})."))
    notes += [_mp_note(r), _htmp_note(r), _pl_note(r)]
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
             card(fmt(s.kappa_median) or "–", f"median κ ({s.n_kappa} layers)"),
             card(fmt(s.alpha_median) or "–", f"median α ({s.n_alpha} layers)")]
    return (f'<div class="cards">{"".join(cards)}</div>'
            f'<div class="sub">phases: {_e(phases)}</div>')

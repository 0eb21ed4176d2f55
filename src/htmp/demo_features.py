"""The feature view of the demo's CNNs (``make demo``): NTK and last-hidden-layer
activation spectra, fitted by :func:`htmp.features.fit_feature_spectrum`; used by
:mod:`htmp.demo` (moved here unchanged from it).
"""
from __future__ import annotations

import time

import numpy as np

from .report.features import feature_kappa_text

__all__ = ["FEATURE_INTRO", "FEATURE_LAYER", "N_ACT", "N_NTK", "feature_fits",
           "format_feature_lines"]

# -- feature spectra of the trained CNNs ---------------------------------------------------------
FEATURE_LAYER = r"^relu4$"   # the last hidden layer: fc2 after its ReLU, what ``out`` reads
N_NTK = 40                   # test inputs for the NTK: 40 x 10 outputs = 400 eigenvalues
N_ACT = 512                  # test inputs for the activations (p = 128 features)


def feature_fits(model, x_test, *, n_ntk: int = N_NTK, n_act: int = N_ACT,
                 layer: str = FEATURE_LAYER) -> list:
    """``[(spectrum, FeatureFits or why not, seconds)]`` for the NTK and one layer's activations.

    NTK: eigenvalues of the raw Gram J Jᵀ on the first ``n_ntk`` inputs of ``x_test``
    (:func:`htmp.features.ntk_eigvals`), fitted WITHOUT gamma, so the inverse-HTMP part is
    skipped: the Gram is (n k) x (n k) from P parameters, but J's P columns are not
    independent draws, so nk/P is no aspect ratio the HTMP law could use; the inverse-Gamma
    edge and the power-law tail need none.  Activations: Φ (n_act x p) of the module
    matching ``layer``; ΦᵀΦ/n has min(n, p) eigenvalues and gamma = min/max.
    """
    from .features import activation_eigvals, fit_feature_spectrum, ntk_eigvals

    x_test = np.asarray(x_test)
    model.eval()
    out = []
    t0 = time.perf_counter()
    xn = x_test[:n_ntk]
    try:
        r = ntk_eigvals(model, xn)
        kind = f"NTK ({r.n} inputs x {r.k} outputs, P = {r.n_params})"
        fits = fit_feature_spectrum(r)       # with its rounding level (NTKSpectrum.tol)
    except ValueError as err:
        kind, fits = f"NTK ({len(xn)} inputs)", str(err)
    out.append((kind, fits, time.perf_counter() - t0))
    t0 = time.perf_counter()
    xa = x_test[:n_act]
    try:
        ev = activation_eigvals(model, xa, layers=layer)
        name, eigs = next(iter(ev.items()))
        feat = _width(model, name, xa[:1])
        n = len(xa)
        kind = f"activations of {name} ({n} inputs x {feat} features)"
        fits = fit_feature_spectrum(eigs, gamma=min(n, feat) / max(n, feat))
    except ValueError as err:
        kind, fits = f"activations ({layer})", str(err)
    out.append((kind, fits, time.perf_counter() - t0))
    return out


def _width(model, name, x1) -> int:
    """Features per sample of module ``name``'s output on one input."""
    import torch

    seen = {}
    mod = dict(model.named_modules())[name]

    def hook(m, i, o):           # returns None: the output is left as it is
        seen["p"] = o[0].numel()
    h = mod.register_forward_hook(hook)
    try:
        with torch.no_grad():
            model(torch.as_tensor(x1))
    finally:
        h.remove()
    return int(seen["p"])


def format_feature_lines(items) -> list:
    """One printed line per (label, spectrum, fits): the measured numbers."""
    lines = []
    for label, kind, f in items:
        if isinstance(f, str):
            lines.append(f"  {label} | {kind}: not fitted ({f})")
            continue
        kappa = ("inverse HTMP skipped (no gamma)" if f.inverse_htmp_status == "skipped" else
                 f"κ {feature_kappa_text(f)} (KS {f.inverse_htmp_ks:.3f},"
                 f" {f.inverse_htmp_fit_quality})")
        edge = (f"edge exponent {f.edge_exponent:.3g} (KS {f.edge_ks:.3f}, "
                f"{f.edge_fit_quality})" if f.edge_status == "ok" else
                f"edge: no exponent ({f.edge_status})")
        lines.append(f"  {label} | {kind}: {edge}; {kappa}; tail α {f.alpha:.3g} "
                     f"(index {f.tail_index:.3g}, {f.n_tail} eigenvalues >= {f.xmin:.3g}, KS "
                     f"{f.powerlaw_ks:.3f})")
    return lines


FEATURE_INTRO = (
    "Feature spectra of the same networks on fixed test inputs (htmp.features, "
    "docs/features.md), fitted three ways by fit_feature_spectrum: an inverse-Gamma law on the "
    "lowest 20 % of the positive eigenvalues (the left edge), inverse HTMP on the whole "
    "spectrum, and a power law on the upper tail. NTK: eigenvalues of the raw Gram J Jᵀ of "
    "the outputs' Jacobian; it is fitted without gamma (its nk/P is no aspect ratio of "
    "independent columns), so inverse HTMP is skipped there. Activations: ΦᵀΦ/n of the last "
    "hidden layer, gamma = min(n, p)/max(n, p). A 'good' edge fit of a narrow window alone is "
    "no evidence of an inverse-Gamma edge; compare 'edge exp. from κ' with it.")


# -- main job: batch-size sweep ------------------------------------------------------------------

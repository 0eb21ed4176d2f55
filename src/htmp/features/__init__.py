"""Spectra of features of a trained network, beyond its weight matrices (docs/features.md).

* :func:`ntk_eigvals` - eigenvalues of the empirical NTK Gram ``J Jᵀ`` on a batch.
* :func:`activation_eigvals` - eigenvalues of each module's activations Φᵀ Φ / n (the
  conjugate kernel's nonzero spectrum).
* :func:`hessian_eigvals`, :func:`hessian_density`, :func:`hessian_topk` - the spectrum of a
  training loss's Hessian (or Gauss-Newton matrix): exact, by stochastic Lanczos quadrature,
  and its extreme eigenvalues.
* :func:`fit_feature_spectrum`, :func:`plot_feature_fits` - the inverse-Gamma left edge,
  inverse-HTMP and the power-law upper tail of a feature spectrum, side by side.

Every function that takes a torch model imports torch only when it is called
(``import htmp.features`` does not import it).
"""
from .activations import activation_eigvals
from .fits import EdgeFit, FeatureFits, fit_feature_spectrum, fit_invgamma_edge
from .hessian import (
    MAX_EXACT_PARAMS,
    HessianDensity,
    hessian_density,
    hessian_eigvals,
    hessian_topk,
)
from .ntk import NTKSpectrum, ntk_eigvals
from .plots import fit_densities, plot_feature_fits

__all__ = ["NTKSpectrum", "ntk_eigvals", "MAX_EXACT_PARAMS", "HessianDensity",
           "activation_eigvals", "hessian_density", "hessian_eigvals", "hessian_topk",
           "EdgeFit", "FeatureFits", "fit_feature_spectrum", "fit_invgamma_edge",
           "fit_densities", "plot_feature_fits"]

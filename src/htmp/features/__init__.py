"""Spectra of feature matrices (activations, NTK, Hessian): fits and plots."""
from .fits import EdgeFit, FeatureFits, fit_feature_spectrum, fit_invgamma_edge

__all__ = ["EdgeFit", "FeatureFits", "fit_feature_spectrum", "fit_invgamma_edge"]

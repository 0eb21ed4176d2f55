"""Spectra of feature matrices (activations, NTK, Hessian): fits and plots."""
from .fits import EdgeFit, FeatureFits, fit_feature_spectrum, fit_invgamma_edge
from .plots import fit_densities, plot_feature_fits

__all__ = ["EdgeFit", "FeatureFits", "fit_feature_spectrum", "fit_invgamma_edge",
           "fit_densities", "plot_feature_fits"]

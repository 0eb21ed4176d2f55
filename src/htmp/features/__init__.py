"""Spectra of features of a trained network: activations and the loss Hessian.

torch is imported only when a function is called; ``import htmp.features`` never imports it.
"""
from .activations import activation_eigvals
from .hessian import (
    MAX_EXACT_PARAMS,
    HessianDensity,
    hessian_density,
    hessian_eigvals,
    hessian_topk,
)

__all__ = ["MAX_EXACT_PARAMS", "HessianDensity", "activation_eigvals", "hessian_density",
           "hessian_eigvals", "hessian_topk"]

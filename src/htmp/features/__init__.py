"""Spectra of features of a trained network, beyond its weight matrices (docs/features.md).

* :func:`ntk_eigvals` - eigenvalues of the empirical NTK Gram ``J Jᵀ`` on a batch.

Every function here takes a torch model; torch is imported only when one is called
(``import htmp.features`` does not import it).
"""
from .ntk import NTKSpectrum, ntk_eigvals

__all__ = ["NTKSpectrum", "ntk_eigvals"]

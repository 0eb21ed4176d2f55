"""Spectral laws with a scipy.stats-like interface.

* :class:`MarchenkoPastur` - MP_{gamma, sigma^2}
* :class:`HTMP` - standardised high-temperature MP law HTMP(gamma, kappa)
* :class:`InverseHTMP` - law of 1/Y, Y ~ HTMP (trained feature-matrix spectra)
* :class:`TrinhTrinh` - the raw law nu_{alpha,c} behind HTMP
"""
from .htmp_law import HTMP, InverseHTMP
from .marchenko_pastur import MarchenkoPastur
from .trinh_trinh import TrinhTrinh

__all__ = ["HTMP", "InverseHTMP", "MarchenkoPastur", "TrinhTrinh"]

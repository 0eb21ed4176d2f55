"""Random-matrix ensembles of the HTMP paper: samplers, spectra at scale, structured classes.

* :mod:`~htmp.ensembles.tridiagonal` - Dumitriu-Edelman beta-Laguerre / beta-Hermite
  tridiagonal models for any beta > 0 (O(n) memory).
* :mod:`~htmp.ensembles.samplers` - HTMP and Master-Model (inverse-Wishart) samplers,
  Haar orthogonal matrices.
* :mod:`~htmp.ensembles.counting` - exact Sturm counts, CDF and histograms of
  tridiagonal spectra up to n = 1e7 without computing every eigenvalue.
* :mod:`~htmp.ensembles.structured` - the matrix classes of Appendix F with their
  Weyl factors ``log V(lambda)``.

Every sampler takes an explicit ``rng=`` (anything ``numpy.random.default_rng``
accepts); nothing reads or seeds the global random state.
"""
from .counting import (
    SpectrumHistogram,
    bidiagonal_count,
    bidiagonal_histogram,
    extreme_eigvals,
    sturm_count,
    tridiagonal_cdf,
    tridiagonal_histogram,
)
from .samplers import (
    haar_orthogonal,
    htmp_eigvals,
    htmp_parameters,
    htmp_tridiagonal,
    inverse_wishart_eigvals,
    master_model_eigvals,
)
from .structured import (
    BlockDiagonal,
    CommutingBlockDiagonal,
    Diagonal,
    FreeEigenvectors,
    KroneckerLike,
    Symmetric,
    random_labelling,
)
from .tridiagonal import (
    SymTridiagonal,
    beta_hermite_eigvals,
    beta_hermite_tridiagonal,
    beta_laguerre_eigvals,
    beta_laguerre_tridiagonal,
    beta_wishart_eigvals,
)

__all__ = [
    # tridiagonal models
    "SymTridiagonal",
    "beta_laguerre_tridiagonal",
    "beta_laguerre_eigvals",
    "beta_wishart_eigvals",
    "beta_hermite_tridiagonal",
    "beta_hermite_eigvals",
    # convenience samplers
    "htmp_parameters",
    "htmp_tridiagonal",
    "htmp_eigvals",
    "inverse_wishart_eigvals",
    "master_model_eigvals",
    "haar_orthogonal",
    # spectra at scale
    "SpectrumHistogram",
    "sturm_count",
    "tridiagonal_cdf",
    "tridiagonal_histogram",
    "extreme_eigvals",
    "bidiagonal_count",
    "bidiagonal_histogram",
    # structured classes
    "Diagonal",
    "CommutingBlockDiagonal",
    "BlockDiagonal",
    "KroneckerLike",
    "Symmetric",
    "FreeEigenvectors",
    "random_labelling",
]

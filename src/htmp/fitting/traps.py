"""Correlation traps: eigenvalues of the element-wise randomised W beyond its MP edge.

WeightWatcher 0.7.7's ``randomize=True`` (``weightwatcher.py``: ``apply_random_esd``
lines 2971-3021, ``random_eigenvalues`` 4079-4123, ``apply_mp_fit(random=True)``
4669-4737, ``mp_fit`` 4739-4835) shuffles the entries of each weight matrix
(``np.random.shuffle`` of ``W.flatten()``, the global RNG, unseeded), takes the ESD of the
shuffled matrix, fits Marchenko-Pastur to it and reports the eigenvalues beyond the fitted
edge as ``num_traps`` (= ``rand_num_spikes``).  Shuffling destroys every correlation
between entries, so an ordinary layer's randomised ESD is MP; a few entries far larger
than the rest survive the shuffle as isolated large entries, and each one gives an
eigenvalue beyond the MP edge: a "correlation trap".

What htmp does the same: the element-wise permutation (of the whole matrix; of each
kh x kw slice with ``conv="slices"``, as WeightWatcher does per slice), and counting the
randomised ESD's eigenvalues beyond an MP edge.

What htmp does differently, and why:

* the MP fit is htmp's :func:`~htmp.fitting.fit_mp` (sigma^2 = the mean of the bulk,
  re-estimated until the set of spikes is stable; edge = Johnstone's Tracy-Widom
  centring + ``margin`` TW scales), not WeightWatcher's rule (rescale the ESD to mean 1,
  choose sigma on a grid of 195 values by a kernel-density residual, edge =
  ``bulk_max + sqrt(TW)`` with ``TW = Q^-1/2 bulk_max^2/3 M^-2/3``, lines 4744-4770).  The
  randomised matrix has exchangeable entries, the setting in which MP with Johnstone's
  edge is the right null; fit_mp is deterministic, needs no scikit-learn and takes
  milliseconds where WeightWatcher's grid search takes 0.3-3 s a layer; and the count is
  the same rule as htmp's ``n_spikes`` of the original ESD, so the two compare directly.
  Counts can differ from WeightWatcher's by the eigenvalues that lie between the two
  edges (benchmarks/bench_ww_metrics.py measures it).
* randomness is an explicit ``rng`` (WeightWatcher reads the unseeded global RNG, so its
  ``num_traps`` changes from run to run); WeightWatcher also pools 5 shuffles for layers
  with fewer than 100 eigenvalues (line 2993), htmp takes one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._results import FitResult
from .esd import ESDResult, _check_matrix, esd
from .mp_fit import MPFit, fit_mp

__all__ = ["CorrelationTraps", "correlation_traps", "randomize_weights", "traps_of"]


@dataclass(frozen=True)
class CorrelationTraps(FitResult):
    """Result of :func:`correlation_traps`.

    ``eigenvalues``: the ESD of the randomised W (htmp's normalisation, W Wᵀ / M;
    ascending, read-only).  ``mp``: :func:`fit_mp` of that ESD (``mp.scale``,
    ``mp.bulk_max``, ``mp.threshold``; ``mp.status`` "failed" with a ``message`` for a
    degenerate spectrum, then ``num_traps`` is None and ``traps`` empty).  ``num_traps``:
    eigenvalues above ``mp.threshold``; ``traps``: those eigenvalues.  ``lambda_max``: the
    largest eigenvalue of the randomised ESD (WeightWatcher's ``max_rand_eval`` / M).
    """

    eigenvalues: np.ndarray
    mp: MPFit
    num_traps: int | None
    traps: tuple
    lambda_max: float
    gamma: float
    N: int
    M: int
    status: str = "ok"
    message: str = ""

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["mp"] = self.mp.to_dict()
        return d


def randomize_weights(W, *, rng, conv: str = "flatten") -> np.ndarray:
    """A copy of ``W`` with its entries randomly permuted (same dtype and shape).

    2-D W and ``conv="flatten"``: one permutation of all entries.  A 4-D kernel with
    ``conv="slices"``: each slice ``W[:, :, i, j]`` permuted on its own (WeightWatcher's
    per-matrix shuffle).  ``rng``: anything :func:`numpy.random.default_rng` takes.
    """
    if conv not in ("flatten", "slices"):
        raise ValueError(f"conv must be 'flatten' or 'slices', got {conv!r}")
    arr = _check_matrix(W)
    rng = np.random.default_rng(rng)
    if arr.ndim == 4 and conv == "slices":
        out = np.empty_like(arr)
        for i in range(arr.shape[2]):
            for j in range(arr.shape[3]):
                s = arr[:, :, i, j]
                out[:, :, i, j] = rng.permuted(s.ravel()).reshape(s.shape)
        return out
    return rng.permuted(arr.ravel()).reshape(arr.shape)


def traps_of(r: ESDResult, *, margin: float = 3.0) -> CorrelationTraps:
    """The traps of an already randomised ESD (``esd(randomize_weights(W, rng=...))``)."""
    mp = fit_mp(r, margin=margin)
    ev = r.eigenvalues
    if mp.status != "ok":
        return CorrelationTraps(eigenvalues=ev, mp=mp, num_traps=None, traps=(),
                                lambda_max=float(ev[-1]), gamma=r.gamma, N=r.N, M=r.M,
                                status="failed", message=mp.message)
    return CorrelationTraps(eigenvalues=ev, mp=mp, num_traps=mp.n_spikes, traps=mp.spikes,
                            lambda_max=float(ev[-1]), gamma=r.gamma, N=r.N, M=r.M)


def correlation_traps(W, *, rng, conv: str = "flatten", margin: float = 3.0) -> CorrelationTraps:
    """Correlation traps of ``W`` (see the module docstring): permute W's entries with
    ``rng`` (required: an int seed or a :class:`numpy.random.Generator`), take the ESD,
    fit MP with :func:`fit_mp` (``margin`` Tracy-Widom scales above the edge) and count
    the eigenvalues beyond it.  ValueError (from fit_mp) when the randomised ESD has fewer
    than 2 nonzero eigenvalues (a rank-1 W such as a constant stays rank 1 when shuffled).

    >>> import numpy as np
    >>> W = np.random.default_rng(0).standard_normal((200, 400))
    >>> correlation_traps(W, rng=1).num_traps            # Gaussian: no traps
    0
    >>> W[[3, 50, 120], [7, 90, 300]] = 60.0             # three planted large entries
    >>> correlation_traps(W, rng=1).num_traps
    3
    """
    if not (isinstance(margin, (int, float)) and math.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be a finite number >= 0 (Tracy-Widom scales), got "
                         f"{margin!r}")
    return traps_of(esd(randomize_weights(W, rng=rng, conv=conv), conv=conv), margin=margin)

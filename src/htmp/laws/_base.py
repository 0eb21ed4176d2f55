"""One small base for every law: validation, broadcasting, out-of-support values.

A law subclass declares its parameters and implements the formulas on flat
arrays of *in-support* points (``_logpdf``, ``_cdf``, ``_sf``, ``_ppf``) whose
parameter arrays have the same length as the points.  Everything else - shape
handling, NaN propagation, values outside the support, ``rvs`` by inversion -
lives here once, as in scipy.stats' new distribution infrastructure.
"""
from __future__ import annotations

import functools

import numpy as np

__all__ = ["Law", "stieltjes_domain"]


class Law:
    """Base class of the scipy.stats-like laws in :mod:`htmp.laws`."""

    _param_names: tuple[str, ...] = ()

    # -- construction -----------------------------------------------------------
    def _set_params(self, **params: np.ndarray) -> None:
        arrays = np.broadcast_arrays(*params.values())
        self._params = dict(zip(params, (np.array(a, dtype=float) for a in arrays)))
        self._shape = arrays[0].shape if arrays else ()

    @property
    def params(self) -> dict[str, np.ndarray | float]:
        """The parameters, as given (broadcast against each other)."""
        return {k: (v.item() if v.ndim == 0 else v) for k, v in self._params.items()}

    def __repr__(self) -> str:
        inside = ", ".join(f"{k}={_fmt(v)}" for k, v in self.params.items())
        return f"{type(self).__name__}({inside})"

    # -- hooks for subclasses (flat arrays, x inside the open support) ------------
    def _support(self, **p) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _logpdf(self, x, **p):
        raise NotImplementedError

    def _pdf(self, x, **p):
        with np.errstate(over="ignore"):   # a density above 1.8e308 (alpha near -1, x ~ 1e-308) is inf
            return np.exp(self._logpdf(x, **p))

    def _cdf(self, x, **p):
        raise NotImplementedError

    def _sf(self, x, **p):
        return 1.0 - self._cdf(x, **p)

    def _ppf(self, q, **p):
        raise NotImplementedError

    def _isf(self, q, **p):
        return self._ppf(1.0 - q, **p)

    # -- broadcasting machinery ----------------------------------------------------
    def _broadcast(self, x):
        x = np.asarray(x, dtype=float)
        arrays = np.broadcast_arrays(x, *self._params.values())
        shape = arrays[0].shape
        flat = [np.ravel(a) for a in arrays]
        params = dict(zip(self._params, flat[1:]))
        return shape, flat[0], params

    def _apply(self, x, hook, below, above, nan_value=np.nan):
        shape, xf, p = self._broadcast(x)
        lo, hi = self._support(**p)
        out = np.full(xf.shape, nan_value, dtype=float)
        isnan = np.isnan(xf)
        out[~isnan & (xf <= lo)] = below
        out[~isnan & (xf >= hi)] = above
        inside = ~isnan & (xf > lo) & (xf < hi)
        if np.any(inside):
            out[inside] = hook(xf[inside], **{k: v[inside] for k, v in p.items()})
        return out.reshape(shape)[()]

    # -- public scipy.stats-like interface ------------------------------------------
    def support(self) -> tuple[np.ndarray | float, np.ndarray | float]:
        """Lower and upper end of the support."""
        p = {k: np.ravel(v) for k, v in self._params.items()}
        lo, hi = self._support(**p) if p else self._support()
        lo = np.broadcast_to(lo, np.ravel(next(iter(self._params.values()))).shape)
        hi = np.broadcast_to(hi, lo.shape)
        return lo.reshape(self._shape)[()], hi.reshape(self._shape)[()]

    def pdf(self, x):
        """Probability density at ``x`` (0 outside the support)."""
        return self._apply(x, self._pdf, 0.0, 0.0)

    def logpdf(self, x):
        """Log density at ``x`` (``-inf`` outside the support), finite where pdf underflows."""
        return self._apply(x, self._logpdf, -np.inf, -np.inf)

    def cdf(self, x):
        """P(X <= x)."""
        return self._apply(x, self._cdf, 0.0, 1.0)

    def sf(self, x):
        """P(X > x), computed without the cancellation of ``1 - cdf``."""
        return self._apply(x, self._sf, 1.0, 0.0)

    def _quantile(self, q, hook, at_zero, at_one):
        shape, qf, p = self._broadcast(q)
        lo, hi = self._support(**p)
        lo = np.broadcast_to(lo, qf.shape)
        hi = np.broadcast_to(hi, qf.shape)
        out = np.full(qf.shape, np.nan)
        out[qf == 0] = (lo if at_zero == "lo" else hi)[qf == 0]
        out[qf == 1] = (hi if at_one == "hi" else lo)[qf == 1]
        inside = (qf > 0) & (qf < 1)
        if np.any(inside):
            out[inside] = hook(qf[inside], **{k: v[inside] for k, v in p.items()})
        return out.reshape(shape)[()]

    def ppf(self, q):
        """Quantile function, the inverse of :meth:`cdf`; NaN for q outside [0, 1]."""
        return self._quantile(q, self._ppf, "lo", "hi")

    def isf(self, q):
        """Inverse of :meth:`sf`; NaN for q outside [0, 1]."""
        return self._quantile(q, self._isf, "hi", "lo")

    def rvs(self, size=None, *, rng=None):
        """Independent draws by inversion, ``ppf(U)``, with ``rng`` passed to
        :func:`numpy.random.default_rng` (the global RNG is never used)."""
        rng = np.random.default_rng(rng)
        if size is None:
            size = self._shape
        u = rng.random(size)
        return self.ppf(u)

    def moment(self, k: int):
        """The k-th raw moment E[X^k] (``inf`` where it is infinite)."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise ValueError(f"k must be a non-negative integer, got {k!r}")
        if k == 0:
            return np.ones(self._shape)[()]
        p = {key: np.ravel(v) for key, v in self._params.items()}
        out = np.asarray(self._moment(int(k), **p), dtype=float)
        return np.broadcast_to(out, np.ravel(np.ones(self._shape)).shape).reshape(self._shape)[()]

    def _moment(self, k, **p):
        raise NotImplementedError

    def mean(self):
        """E[X]."""
        return self.moment(1)

    def var(self):
        """Var[X] (``inf`` where the second moment is infinite)."""
        m1, m2 = np.asarray(self.moment(1)), np.asarray(self.moment(2))
        with np.errstate(invalid="ignore"):
            v = np.where(np.isfinite(m2), m2 - m1 * m1, np.inf)
        return v[()]

    def std(self):
        """Standard deviation."""
        return np.sqrt(self.var())


def _fmt(v) -> str:
    if np.ndim(v) == 0:
        return f"{float(v):g}"
    return np.array2string(np.asarray(v), precision=4, threshold=6)


def stieltjes_domain(method):
    """Non-finite arguments of a ``stieltjes(z)`` method, handled once as scipy would.

    ``z`` must be complex-convertible (TypeError naming ``z`` otherwise).  A NaN ``z``
    (either part) gives NaN + NaN j and an infinite one 0, the limit of G(z) ~ 1/z, with no
    warning; the method sees only finite z (the others replaced by -1, off every support).
    """
    @functools.wraps(method)
    def stieltjes(self, z):
        try:
            z = np.asarray(z, dtype=complex)
        except (TypeError, ValueError):
            raise TypeError(f"z must be a complex number or an array of them, got {z!r}") \
                from None
        finite = np.isfinite(z)
        if finite.all():
            return method(self, z)
        out = np.asarray(method(self, np.where(finite, z, -1.0)), dtype=complex)
        nan = np.isnan(z.real) | np.isnan(z.imag)
        return np.where(finite, out, np.where(nan, complex(np.nan, np.nan), 0j))[()]

    stieltjes.__doc__ = (method.__doc__ or "") + (
        "\n\n        Non-finite z: NaN gives NaN + NaN j, an infinite z gives 0 (the limit).")
    return stieltjes

"""Free multiplicative convolution mu_Sigma [x] rho (paper Thm 4.3, Prop 4.2; MATH.md §7).

``free_multiplicative(sigma, law)`` is the limiting spectrum of Sigma^(1/2) O diag(m) O^T
Sigma^(1/2), O Haar, m ~ ``law``: a scipy.stats-like object with ``pdf``, ``cdf``, ``sf``,
``ppf``, ``isf``, ``stieltjes``, ``support``, ``mean`` and ``var``.

Method (Belinschi-Bercovici subordination).  With G_j the Cauchy transforms of the two measures,
T_j(w) = w G_j(w) - 1 and F_j = G_j / T_j, the subordination functions solve
w_1 = zeta F_2(w_2), w_2 = zeta F_1(w_1), and G(zeta) = w_2 G_2(w_2) / zeta.  The equation for
w_2 is solved by Newton's method (exact derivatives), reached from far above the real axis down
a ladder of heights and then *on* the axis, so the density is -Im G(x + i0) / pi with no
smoothing.  G_j is exact for eigenvalues and for MarchenkoPastur; for other laws it is the
exact Cauchy integral of the law's density interpolated on Gauss-Legendre panels
(:mod:`htmp.theory._free_cauchy`).  The CDF integrates the density on adaptive panels in log x
(:mod:`htmp.theory._free_table`), built on the first call that needs it and then reused.

Accuracy (measured; docs/free_convolution.md): the density agrees with closed forms to ~1e-13
relative (Sigma = I against the law's own pdf, MP [x] MP against the roots of its cubic); the
CDF's total mass is 1 to ~1e-13, and ``table_info().error_bound`` bounds the interpolation error.
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np

from ..fitting._results import FitResult
from ..laws import MarchenkoPastur
from ..laws._base import Law
from ._free_cauchy import Atoms, ClosedMP, Panels
from ._free_solve import g_from_w2, solve, solve_real, t_from_w2
from ._free_table import build_table

__all__ = ["free_multiplicative", "FreeMultiplicative", "FreeTableInfo"]

_TAIL = 1e-18            # mass of a law left outside its panels, per side


@dataclasses.dataclass(frozen=True)
class FreeTableInfo(FitResult):
    """How the CDF table of a :class:`FreeMultiplicative` was built, and how accurate it is.

    ``mass_error`` is (atom at 0 + integral of the density over the table) - 1; ``error_bound``
    sums h (|c_14| + |c_15|) over the panels (a bound on the interpolation error of the CDF
    where the density is smooth); ``end_mass_low/high`` are the masses of the two end panels
    (what lies beyond is smaller wherever the table was extended); ``unresolved`` counts nodes
    where Newton stopped just above the axis (at most ~1e-14 relative height).
    """

    n_panels: int
    n_nodes: int
    x_low: float
    x_high: float
    atom_at_zero: float
    mass_error: float
    error_bound: float
    end_mass_low: float
    end_mass_high: float
    unresolved: int


class FreeMultiplicative:
    """mu_Sigma [x] rho, as returned by :func:`free_multiplicative` (do not build it directly)."""

    def __init__(self, tr_sigma, tr_law, atom0, bounds, moments, description):
        self._tr1, self._tr2 = tr_sigma, tr_law
        self._atom0 = float(atom0)
        self._bounds = bounds           # (x_lo, x_hi, exact_lo, exact_hi, support_lo, support_hi)
        self._moments = moments         # ((m1, m2) of sigma, (m1, m2) of the law)
        self._description = description

    def __repr__(self) -> str:
        return f"FreeMultiplicative({self._description})"

    # -- the table (built once, on first use) ---------------------------------------------
    @functools.cached_property
    def _table(self):
        x_lo, x_hi, exact_lo, exact_hi = self._bounds[:4]
        return build_table(self._tr1, self._tr2, self._atom0, x_lo, x_hi, exact_lo, exact_hi)

    def table_info(self) -> FreeTableInfo:
        """The CDF table's size and accuracy figures (builds the table if needed)."""
        t = self._table
        mass = (t.b - t.a) * t.coef[:, 0]
        return FreeTableInfo(
            n_panels=int(t.a.size), n_nodes=int(t.xs.size), x_low=float(np.exp(t.a[0])),
            x_high=float(np.exp(t.b[-1])), atom_at_zero=self._atom0,
            mass_error=t.mass - 1.0, error_bound=t.error_bound,
            end_mass_low=float(mass[0]), end_mass_high=float(mass[-1]),
            unresolved=t.unresolved)

    # -- transforms and density -------------------------------------------------------------
    def stieltjes(self, z):
        """G(z) = E[1/(z - X)]; on the real axis the boundary value from above, G(x + i0)."""
        try:
            z = np.asarray(z, dtype=complex)
        except (TypeError, ValueError):
            raise TypeError(f"z must be a complex number or an array of them, got {z!r}") \
                from None
        flat = z.ravel()
        lower = flat.imag < 0
        zz = np.where(lower, np.conj(flat), flat)
        out = np.full(zz.shape, complex(np.nan, np.nan))
        ok = np.isfinite(zz) & (zz != 0)
        if np.any(ok):
            w2, _ = solve(self._tr1, self._tr2, zz[ok])
            out[ok] = g_from_w2(self._tr2, zz[ok], w2)
        out[np.isinf(zz)] = 0.0
        return np.where(lower, np.conj(out), out).reshape(z.shape)[()]

    def pdf(self, x):
        """Density at ``x`` (0 for x <= 0 and outside the support), solved on the axis."""
        x = np.asarray(x, dtype=float)
        flat = x.ravel()
        out = np.where(np.isnan(flat), np.nan, 0.0)
        lo, hi = self._bounds[4:]
        inside = np.nonzero((flat > 0) & (flat >= lo) & (flat <= hi) & np.isfinite(flat))[0]
        if inside.size:
            order = inside[np.argsort(flat[inside])]
            xs = flat[order]
            known = (self._table.xs, self._table.ws) if "_table" in self.__dict__ else None
            w2, _ = solve_real(self._tr1, self._tr2, xs, known=known)
            t = t_from_w2(self._tr2, w2)
            out[order] = np.maximum(-t.imag / (np.pi * xs), 0.0)
        return out.reshape(x.shape)[()]

    # -- distribution function (from the table) --------------------------------------------
    def _from_table(self, x, fn):
        x = np.asarray(x, dtype=float)
        out = np.asarray(getattr(self._table, fn)(x), dtype=float)
        return np.where(np.isnan(x), np.nan, out)[()]

    def cdf(self, x):
        """P(X <= x), integrated from the density (absolute error ~1e-13; see table_info)."""
        return self._from_table(x, "cdf")

    def sf(self, x):
        """P(X > x), integrated from the upper end (keeps relative precision in the tail)."""
        return self._from_table(x, "sf")

    def ppf(self, q):
        """Quantile function (NaN outside [0, 1])."""
        q = np.asarray(q, dtype=float)
        bad = np.isnan(q) | (q < 0) | (q > 1)
        x = self._table.ppf(np.where(bad, 0.5, q))
        lo, hi = self.support()
        x = np.where(q == 1, hi, np.where(q == 0, lo, x))
        return np.where(bad, np.nan, x)[()]

    def isf(self, q):
        """Inverse survival function, ppf(1 - q)."""
        return self.ppf(1.0 - np.asarray(q, dtype=float))

    def support(self) -> tuple[float, float]:
        """Outer ends of the support.  0 / inf where an input's support reaches them (or Sigma
        has a zero eigenvalue); otherwise the end of the first / last panel of the table that
        carries density, i.e. the edge to the table's resolution (~1e-11 relative)."""
        lo, hi = self._bounds[4:]
        if lo > 0 or np.isfinite(hi):
            t = self._table
            size = np.max(np.abs(t.coef), axis=1)
            live = np.nonzero(size > 1e-13 * np.max(size))[0]
            if lo > 0:
                lo = float(np.exp(t.a[live[0]]))
            if np.isfinite(hi):
                hi = float(np.exp(t.b[live[-1]]))
        return lo, hi

    def mean(self) -> float:
        """E[X] = E[Sigma] E[rho] (free independence; inf if either is)."""
        (a1, _), (b1, _) = self._moments
        return float(a1 * b1)

    def var(self) -> float:
        """Var[X] = m2(S) m1(R)^2 + m1(S)^2 m2(R) - 2 m1(S)^2 m1(R)^2 (free moments)."""
        (a1, a2), (b1, b2) = self._moments
        if not (np.isfinite(a2) and np.isfinite(b2)):
            return float("inf")
        return float(a2 * b1 ** 2 + a1 ** 2 * b2 - 2.0 * a1 ** 2 * b1 ** 2)


def free_multiplicative(sigma, law) -> FreeMultiplicative:
    """The free multiplicative convolution mu_Sigma [x] rho (paper Thm 4.3; MATH.md §7).

    Parameters
    ----------
    sigma : array_like or law
        Eigenvalues of Sigma (1-D, finite, >= 0, at least one > 0; their empirical measure is
        used, zeros give an atom at 0), or a law from :mod:`htmp.laws` with scalar parameters.
    law : law
        rho, a law from :mod:`htmp.laws` with scalar parameters (typically ``InverseHTMP``;
        ``HTMP`` and ``MarchenkoPastur`` too).

    Returns
    -------
    FreeMultiplicative
        ``pdf`` solves the subordination equations on the real axis (no smoothing; relative
        error ~1e-13 where the density is not tiny); ``cdf``, ``sf``, ``ppf`` use a table of
        the integrated density built on first use (the setup, 0.1-10 s; absolute error
        ~1e-13, reported by ``table_info()``).

    Examples
    --------
    >>> import numpy as np
    >>> from htmp.laws import MarchenkoPastur
    >>> from htmp.theory.free import free_multiplicative
    >>> mu = free_multiplicative(np.array([1.0, 4.0]), MarchenkoPastur(gamma=0.25))
    >>> float(mu.mean())
    2.5
    """
    tr1, m_sigma, desc = _as_transform(sigma, "sigma", allow_atoms=True)
    tr2, m_law, desc2 = _as_transform(law, "law", allow_atoms=False)
    atom0 = float(tr1.q[tr1.t == 0].sum()) if isinstance(tr1, Atoms) else 0.0
    lo1, hi1, t_lo1, t_hi1 = _ends(tr1)
    lo2, hi2, t_lo2, t_hi2 = _ends(tr2)
    sup_lo = 0.0 if (atom0 > 0 or lo1 == 0 or lo2 == 0) else lo1 * lo2
    sup_hi = hi1 * hi2
    bounds = (t_lo1 * t_lo2, t_hi1 * t_hi2, lo1 > 0 and lo2 > 0,
              bool(np.isfinite(hi1) and np.isfinite(hi2)), sup_lo, sup_hi)
    return FreeMultiplicative(tr1, tr2, atom0, bounds, (m_sigma, m_law),
                              f"sigma={desc}, law={desc2}")


def _as_transform(obj, name, allow_atoms):
    """Atoms / ClosedMP / Panels for ``obj``, its first two moments and a short description."""
    if isinstance(obj, Law):
        if np.shape(obj.mean()) != ():
            raise ValueError(f"{name} must be a law with scalar parameters, got {obj!r}")
        m1, m2 = float(obj.moment(1)), float(obj.moment(2))
        if isinstance(obj, MarchenkoPastur):
            return ClosedMP(obj), (m1, m2), repr(obj)
        return Panels(obj, tail=_TAIL), (m1, m2), repr(obj)
    if not allow_atoms:
        raise TypeError(f"{name} must be a law from htmp.laws (MarchenkoPastur, HTMP, "
                        f"InverseHTMP, TrinhTrinh), got {type(obj).__name__}")
    arr = np.asarray(obj)
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must be real eigenvalues, got a complex array")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be an array of eigenvalues or a law from htmp.laws, "
                        f"got {type(obj).__name__} with dtype {arr.dtype}")
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of eigenvalues, got shape "
                         f"{arr.shape}")
    arr = arr.astype(float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got non-finite entries "
                         f"{arr[~np.isfinite(arr)][:3].tolist()}")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 (eigenvalues of a covariance), got minimum "
                         f"{float(arr.min())!r}")
    if not np.any(arr > 0):
        raise ValueError(f"{name} must have at least one eigenvalue > 0, got all zeros")
    tr = Atoms(arr)
    return tr, (tr.mean, float(np.dot(tr.q, tr.t ** 2))), f"{arr.size} eigenvalues"


def _ends(tr):
    """(support lo, support hi, lower truncation, upper truncation) of one input (lo > 0 part)."""
    if isinstance(tr, Atoms):
        pos = tr.t[tr.t > 0]
        return float(pos[0]), float(pos[-1]), float(pos[0]), float(pos[-1])
    if isinstance(tr, ClosedMP):
        return tr.lo, tr.hi, tr.t_lo, tr.hi
    return tr.lo, tr.hi, tr.t_lo, tr.t_hi

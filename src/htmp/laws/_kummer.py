"""Phase-amplitude table of w(x) = U(c, -alpha, x e^{-i pi}) on the real axis.

This is the numerical engine behind :class:`htmp.laws.TrinhTrinh` (MATH.md §2-§3).

Why not the textbook routes.  The connection formula with two real 1F1 values
(MATH.md §3 route (i)) cancels catastrophically for large ``c`` and overflows for
large ``alpha``; mpmath's ``hyperu`` is slow and fails outright for
``c = 500, alpha = 5e4`` (the corner gamma = 0.01, kappa = 1000).

What we do instead.  ``w(z) = U(c, -alpha, -z)`` solves the linear ODE
``z w'' + (z - alpha) w' + c w = 0`` whose coefficients are polynomials, so the
Taylor coefficients of ``w`` about any centre ``z0`` obey an exact three-term
recurrence.  We

1. start far up the imaginary direction, at ``z = x_m + iY`` with
   ``|z| >> c (c + alpha + 1)``, where the asymptotic series
   ``U(a, b, zeta) ~ zeta^{-a} sum_s (a)_s (a-b+1)_s / s! (-zeta)^{-s}`` is exact
   to rounding;
2. walk straight down to the real axis at ``x_m = alpha + c + 1`` (the mean).
   Along that path the other solution of the ODE decays relative to ``w``, so the
   walk is stable, and the branch of ``arg w`` is carried continuously: there is
   no 2 pi ambiguity in the CDF ``F = arg(w) / (pi c)`` (MATH.md §2.6);
3. walk along the real axis outwards in both directions (the stable directions,
   MATH.md §3 route (iii)), down to ``x ~ 1e-300`` or until the left tail mass is
   negligible, and up until the density underflows.

Each step is a Taylor step with a step length that keeps every term of the
series small (no cancellation) and the phase change below 2 radians.  The state
carried is ``L = log w`` (complex, compensated summation) and ``r = w'/w``.

Normalisation without Gamma functions of huge arguments: the Wronskian gives
``f(x) = Im r(x) / (pi c)`` (MATH.md §2.6), which is accurate in the bulk where
``Im r`` is comparable to ``|r|``.  We fix ``log f`` at one bulk centre this way
and carry it to every other centre with ``log f(x) = alpha log x - x - 2 Re L + const``,
which keeps relative precision deep into both tails.

The table stores, for every centre, the normalised Taylor coefficients of
``w / w(x0)``; any ``x`` is evaluated from its nearest centre.  Cumulative
integrals of the density between centres (Gauss-Legendre) give the CDF and the
survival function with *relative* precision in the tails; in the bulk the phase
gives the CDF directly.  Both agree to ~1e-14 where they overlap (tested).
"""
from __future__ import annotations

import cmath
import math
from functools import lru_cache

import numpy as np

from . import _kummer_jit
from ._kummer_series import _KMAX, _coefficients, _log_series
from ._kummer_table import KummerTable

__all__ = ["KummerTable", "build_table", "bulk_table", "kummer_table", "C_MAX", "ALPHA_MAX"]

# Parameter limits (docs/security.md).  The walk takes O(c) steps (the phase of w turns by
# pi c across the support): c = 5000 takes ~1.3 s for the full table and ~0.5 s for a fit's
# bulk table (measured), c = 5e4 would take ten times that, so larger c is refused instead of
# hanging.  Beyond alpha ~ 1e15 the bulk (width ~ sqrt(alpha)) is resolved by too few doubles
# near alpha: at alpha = 1e18 the CDF at the mean is off by 1e-4.
C_MAX = 5000.0
ALPHA_MAX = 1e15

_TERM_CAP = 4.0          # largest |a_k h^k| accepted in a step (limits cancellation)
_PHASE_CAP = 1.5         # largest phase change of w per step, radians
_BULK_PHASE_CAP = 2.5    # ... in the partial tables of fits: half the steps at large c, log f
                         # within ~1e-12 of the full table's (tests); below pi, so the step's
                         # principal log still fixes the branch
_RHO = 0.4               # step length at most _RHO * |z0| (radius of convergence is |z0|)
_X_FLOOR = 1e-307        # smallest centre on the real axis (standardised x >= 1e-300 stays inside)
_LOG_TAIL = 92.0         # stop the left walk once the mass below x is < e^-92 relative
_LOG_UNDERFLOW = 780.0   # stop the right walk once the density is e^-780 below the bulk

_INV_PAIR = [1.0 / ((k + 2) * (k + 1)) for k in range(_KMAX)]   # Taylor recurrence


def _taylor(z0: complex, r0: complex, c: float, alpha: float, h: complex):
    """Taylor step of w/w(z0) from z0 to z0 + h.

    Works with the scaled coefficients b_k = a_k z0^k and u = h/z0 (radius of
    convergence 1), so nothing overflows near the singular point 0.
    Returns (w1, dw1, max_term, ok) with w1 = w(z0+h)/w(z0), dw1 = w'(z0+h)/w(z0).
    """
    u = h / z0
    b_prev, b_cur = 1.0 + 0.0j, r0 * z0          # b_0, b_1
    w1 = b_prev + b_cur * u
    dsum = b_cur                                  # sum of k b_k u^(k-1)
    uk = u                                        # u^(k+1) for the current k
    max_term = max(1.0, abs(b_cur * u))
    zma, cz = z0 - alpha, c * z0
    small = 0
    for k in range(0, _KMAX):
        b_next = -((k + 1) * (k + zma) * b_cur + (k * z0 + cz) * b_prev) * _INV_PAIR[k]
        term_d = (k + 2) * b_next * uk
        uk *= u
        term = b_next * uk
        w1 += term
        dsum += term_d
        at = abs(term)
        if at > max_term:
            max_term = at
        # |w1| <= sum |terms| <= (k + 3) max_term, so at < 1e-18 |w1| needs the cheap test first
        if at < 1e-18 * (k + 3) * max_term and at < 1e-18 * abs(w1) \
                and abs(term_d * u) < 1e-18 * abs(w1):
            small += 1
            if small >= 3:
                return w1, dsum / z0, max_term, True
        else:
            small = 0
        b_prev, b_cur = b_cur, b_next
    return w1, dsum / z0, max_term, False



class _Walker:
    """Carries (z, L = log w, r = w'/w) along a path with compensated log sums."""

    def __init__(self, z, L, r, c, alpha, phase_cap=_PHASE_CAP):
        self.z, self.r, self.c, self.alpha = z, r, c, alpha
        self.phase_cap = phase_cap
        self.L_hi, self.L_lo = L, 0j
        self.step_len = None

    @property
    def L(self) -> complex:
        return self.L_hi + self.L_lo

    def _add_L(self, d: complex) -> None:
        # Neumaier summation on real and imaginary parts separately
        s = self.L_hi + d
        for part in ("real", "imag"):
            big, small, tot = getattr(self.L_hi, part), getattr(d, part), getattr(s, part)
            if abs(big) >= abs(small):
                corr = (big - tot) + small
            else:
                corr = (small - tot) + big
            self.L_lo += corr if part == "real" else 1j * corr
        self.L_hi = s

    def step(self, direction: complex, max_len: float) -> float:
        """One accepted Taylor step of length <= max_len along ``direction``; returns its length."""
        z0, r0 = self.z, self.r
        length = min(max_len, _RHO * abs(z0))
        if self.step_len is not None:
            length = min(length, 2.0 * self.step_len)
        if abs(r0) > 0:
            length = min(length, 2.0 / abs(r0) if abs(r0) * length > 2.0 else length)
        for _ in range(200):
            h = direction * length
            w1, dw1, max_term, ok = _taylor(z0, r0, self.c, self.alpha, h)
            if ok and max_term <= _TERM_CAP and w1 != 0:
                dlog = cmath.log(w1)
                if abs(dlog.imag) <= self.phase_cap:
                    break
            length *= 0.5
        else:  # pragma: no cover - would mean a non-finite state
            raise FloatingPointError(f"Taylor walk stalled at z={z0!r}")
        self._add_L(dlog)
        self.z = z0 + h
        if direction.imag == 0:
            self.z = complex(self.z.real, 0.0)
        self.r = dw1 / w1
        self.step_len = length
        return length


def _jacobi_fraction(alpha: float, c: float, z: complex, n_terms: int) -> complex:
    """G(z) = int f(t)/(z - t) dt from the J-fraction of nu_{alpha,c} (MATH.md §2.5).

    b_0 = alpha+c+1, b_n = 2n+2c+alpha+1, a_n^2 = (n+c)(n+c+alpha).  Evaluated backwards
    from the fixed point of the tail t = a^2/(z - b - t) at n_terms (the minimal root).
    At z = x + i(5 sqrt(x) + 1), 300 terms reach ~1e-15 for every parameter we tried
    (alpha up to 5e4, c up to 500), against a Radau descent from the asymptotic series.
    """
    n = n_terms
    d = z - (2 * n + 2 * c + alpha + 1)
    a2 = (n + c) * (n + c + alpha)
    root = cmath.sqrt(d * d - 4 * a2)
    t = (d - root) / 2 if abs(d - root) < abs(d + root) else (d + root) / 2
    for n in range(n_terms, 0, -1):
        t = (n + c) * (n + c + alpha) / (z - (2 * n + 2 * c + alpha + 1) - t)
    return 1.0 / (z - (alpha + c + 1) - t)


def _anchor(alpha: float, c: float, x_m: float):
    """r = w'/w = -c G(z) at z = x_m + i y1, with the J-fraction converged to rounding."""
    z = complex(x_m, 5.0 * math.sqrt(x_m) + 1.0)
    jit = _kummer_jit.load()
    jf = jit.jacobi_fraction if jit is not None else _jacobi_fraction
    n, g = 256, jf(alpha, c, z, 256)
    for _ in range(8):
        g2 = jf(alpha, c, z, 2 * n)
        if abs(g2 - g) <= 1e-16 * abs(g2):
            break
        n, g = 2 * n, g2
    return z, -c * g2


def _walk_real(walker: _Walker, direction: float, stop) -> list:
    out = []
    while True:
        walker.step(complex(direction, 0.0), math.inf)
        out.append((walker.z.real, walker.L, walker.r))
        if stop(walker):
            return out


def build_table(alpha: float, c: float, *, log_tail: float = _LOG_TAIL,
                log_underflow: float = _LOG_UNDERFLOW,
                phase_cap: float = _PHASE_CAP) -> KummerTable:
    """Walk the ODE once for (alpha, c) and return the evaluation table.

    ``log_tail`` / ``log_underflow``: the walks stop where the mass below x is e^-log_tail of
    the total, resp. where the density is e^-log_underflow below the bulk.  Smaller values
    give a *partial* table (``partial=True``, for likelihood fits): the same density inside
    a shorter range; its CDF and sf are off by the mass left outside (the phase anchor
    theta(inf) = pi c is put at the right end), so they lose relative precision in the tails.
    ``phase_cap``: the largest phase change of w per step (radians, < pi); the partial tables
    of fits use 2.5 instead of 1.5 (half the steps at large c).
    """
    if not (-1 < alpha <= ALPHA_MAX and 0 < c <= C_MAX):
        raise ValueError(f"need alpha in (-1, {ALPHA_MAX:g}] and c in (0, {C_MAX:g}], "
                         f"got alpha={alpha!r}, c={c!r}")
    x_m = alpha + c + 1.0
    z, r = _anchor(alpha, c, x_m)
    # Below x_frob the two-term Frobenius form w = w(0) + B x^(1+alpha) is exact to rounding:
    # the next terms are O(x c / |alpha|) and O(x^(2+alpha)).  For -1 < alpha < 0 the walk can
    # stop there instead of stepping down to 1e-307 (~1400 steps -> ~100).  Integer alpha >= 0
    # brings log terms, so those walks keep the mass criterion (and reach it early anyway).
    x_frob = 1e-18 * min(1.0, abs(alpha)) / (1.0 + c) if -1.0 < alpha < 0.0 else 0.0
    walked, jit = None, _kummer_jit.load()
    if jit is not None:
        x0, Ls, rs, ref, ok = jit.walk(alpha, c, z, r, phase_cap, log_tail, log_underflow,
                                       x_frob)
        walked = (x0, Ls, rs, int(ref)) if ok else None
    if walked is None:
        walked = _walk_python(alpha, c, z, r, phase_cap, log_tail, log_underflow, x_frob)
    x0, Ls, rs, ref = walked
    partial = log_tail < _LOG_TAIL or log_underflow < _LOG_UNDERFLOW
    for _ in range(_MAX_SPLITS):
        table = _finish_table(alpha, c, x0, Ls, rs, ref, partial)
        bad = _unconverged_gaps(table)
        if bad.size == 0:
            break
        x0, Ls, rs, ref = _split_gaps(x0, Ls, rs, ref, bad, c, alpha)
    return table


def _walk_python(alpha, c, z, r, phase_cap, log_tail, log_underflow, x_frob):
    """The walk in plain Python (the reference for :mod:`._kummer_numba`): the descent from
    the anchor z to x_m, then outwards both ways; (x0, log w, w'/w, index of x_m)."""
    x_m = alpha + c + 1.0
    w = _Walker(z, 0j, r, c, alpha, phase_cap)   # log w relative to the anchor
    while w.z.imag > 0:
        w.step(-1j, w.z.imag)
        if w.z.imag < 1e-300:
            w.z = complex(x_m, 0.0)
    w.z = complex(x_m, 0.0)
    mid = (x_m, w.L, w.r)

    def logf_tilde(x, L):
        return alpha * math.log(x) - x - 2.0 * L.real

    base = logf_tilde(x_m, w.L) + math.log(x_m)

    def stop_right(wk):
        x = wk.z.real
        return logf_tilde(x, wk.L) + math.log(x) < base - log_underflow or x > 1e300

    def stop_left(wk):
        x = wk.z.real
        if x < _X_FLOOR:
            return True
        mass = logf_tilde(x, wk.L) + math.log(x) - math.log1p(alpha)
        # early stop only where the phase below is large enough to carry relative precision
        if x < x_frob and mass > base - 7.0:
            return True
        return mass < base - log_tail

    walks = []
    for direction, stop in ((1.0, stop_right), (-1.0, stop_left)):
        walker = _Walker(complex(x_m, 0.0), 0j, w.r, c, alpha, phase_cap)
        walker.L_hi, walker.L_lo = w.L_hi, w.L_lo
        walks.append(_walk_real(walker, direction, stop))
    right, left = walks
    pts = left[::-1] + [mid] + right
    return (np.array([p[0] for p in pts]), np.array([p[1] for p in pts]),
            np.array([p[2] for p in pts]), len(left))


# The series of log w about a centre converges only up to the nearest complex zero of w,
# which can lie closer than the neighbouring centre (the walk's steps are set by w's own
# series): measured up to 4e-5 relative error in log f halfway across the first gap of the
# left tail (gamma = 0.02, kappa = 6.1; mpmath at 30 digits).  Both neighbours must agree at
# the middle of every gap; where they do not, the gap gets a centre of its own.
_GAP_TOL = 1e-12
_MAX_SPLITS = 4


def _unconverged_gaps(table: KummerTable) -> np.ndarray:
    """Indices i of the gaps (x0[i], x0[i+1]) where the series of both ends disagree at the
    middle (log f relative to 1 + |log f|, the phase relative to 1 + |theta|)."""
    x0 = table.x0
    jit = _kummer_jit.load()
    if jit is not None and len(x0) >= 2:
        return jit.unconverged_gaps(x0, table.lcoef, table.pcoef, table.logf0,
                                    table.theta0, _GAP_TOL)
    if len(x0) < 2:
        return np.empty(0, dtype=int)
    mid = 0.5 * (x0[:-1] + x0[1:])
    jl = np.arange(len(x0) - 1)
    jr = jl + 1
    bad = np.zeros(len(mid), dtype=bool)
    for rows, base in zip(table._transposed, (table.logf0, table.theta0)):
        vl = base[jl] + table._real_series(rows, jl, mid)
        vr = base[jr] + table._real_series(rows, jr, mid)
        bad |= ~(np.abs(vl - vr) <= _GAP_TOL * (1.0 + np.abs(vl)))
    return np.nonzero(bad)[0]


def _split_gaps(x0, Ls, rs, ref, gaps, c, alpha):
    """Insert a centre at the middle of each gap in ``gaps``: a Taylor step of w from the
    end nearer the bulk centre ``ref``, outwards as the walk went (the stable direction:
    towards the bulk the other solution grows and amplifies the rounding in r)."""
    new_x, new_L, new_r, at = [], [], [], []
    for i in gaps:
        j = i + 1 if i + 1 <= ref else i
        h = 0.5 * (x0[i + 1] - x0[i]) * (-1.0 if j == i + 1 else 1.0)
        w1, dw1, max_term, ok = _taylor(complex(x0[j], 0.0), complex(rs[j]), c, alpha,
                                        complex(h, 0.0))
        if not ok or max_term > _TERM_CAP or w1 == 0:
            continue
        dlog = cmath.log(w1)
        new_x.append(x0[j] + h)
        new_L.append(Ls[j] + dlog)
        new_r.append(dw1 / w1)
        at.append(i + 1)
    if not at:
        return x0, Ls, rs, ref
    at = np.array(at)
    ref += int(np.sum(at <= ref))
    return (np.insert(x0, at, new_x), np.insert(Ls, at, new_L), np.insert(rs, at, new_r), ref)


def _finish_table(alpha, c, x0, Ls, rs, ref_index, partial=False) -> KummerTable:
    # Normalisation from the Wronskian, f = Im r / (pi c), at the landing point x_m (the
    # mean, in the bulk), where r comes straight from the descent.  Far out in the left
    # tail Im r drifts (measured: 5x off at x = 1e-72 for alpha = -0.5, c = 0.005) while
    # the differences of log|w| stay accurate, so we never normalise there.
    ref = ref_index
    jit = _kummer_jit.load()
    if jit is not None and len(x0) >= 2:
        logf0, theta0, L_min, coef, lcoef, pcoef = jit.finish(alpha, c, x0, Ls, rs, ref)
        if partial:
            coef = np.empty((len(x0), 0), dtype=complex)
        return KummerTable(alpha=alpha, c=c, x0=x0, coef=coef, lcoef=lcoef, pcoef=pcoef,
                           logf0=logf0, theta0=theta0, L_min=L_min, partial=partial)
    logf_ref = math.log(rs[ref].imag / (math.pi * c))
    dL = (Ls - Ls[ref]).real
    logf0 = logf_ref + alpha * np.log(x0 / x0[ref]) - (x0 - x0[ref]) - 2.0 * dL
    # Absolute log w.  Phase: theta(inf) = pi c (F = 1), and the walk stops where the mass
    # beyond is below e^-780.  Modulus: f = x^alpha e^-x / (Gamma(c+1)Gamma(c+alpha+1)|w|^2).
    log_w_ref = 0.5 * (alpha * math.log(x0[ref]) - x0[ref] - math.lgamma(c + 1)
                       - math.lgamma(c + alpha + 1) - logf_ref)
    Ls = (Ls.real - Ls[ref].real + log_w_ref) + 1j * (Ls.imag - Ls[-1].imag + math.pi * c)
    theta0 = Ls.imag
    # Taylor coefficients: enough terms that half the gap to each neighbour converges.
    gaps = np.diff(x0)
    reach = np.maximum(np.r_[gaps[0], gaps], np.r_[gaps, gaps[-1]]) * 0.5
    with np.errstate(under="ignore"):
        allcoef = _coefficients(x0, rs, c, alpha, _KMAX, rad=reach / x0)
        mags = np.abs(allcoef) * (reach / x0)[:, None] ** np.arange(allcoef.shape[1])[None, :]
    big = np.nonzero(np.any(mags > 1e-18, axis=0))[0]
    K = max(8, min(int(big.max()) + 2 if big.size else 2, _KMAX))
    coef = allcoef[:, :K]
    lcoef, pcoef = _log_series(coef, x0, alpha, reach)
    if partial:      # a fit needs log f and the phase only: drop w's own series (half the memory)
        coef = np.empty((len(x0), 0), dtype=complex)
    lcoef, pcoef = np.ascontiguousarray(lcoef), np.ascontiguousarray(pcoef)
    return KummerTable(alpha=alpha, c=c, x0=x0, coef=coef, lcoef=lcoef, pcoef=pcoef,
                       logf0=logf0, theta0=theta0, L_min=complex(Ls[0]), partial=partial)


@lru_cache(maxsize=128)
def kummer_table(alpha: float, c: float) -> KummerTable:
    """Cached :func:`build_table` (one walk per distinct parameter pair)."""
    return build_table(float(alpha), float(c))


# A likelihood needs the density only where data can lie: the bulk table stops where the
# mass below is e^-30 and the density e^-80 below the bulk (about a third of the centres
# of the full table); a fit falls back to the full table for data outside its range.
_BULK_LOG_TAIL = 30.0
_BULK_LOG_UNDERFLOW = 80.0


@lru_cache(maxsize=1024)   # 20-700 KB each: analyses of many checkpoints share their grid points
def bulk_table(alpha: float, c: float) -> KummerTable:
    """Cached partial table (density only) over the bulk of nu_{alpha,c}; see build_table."""
    return build_table(float(alpha), float(c), log_tail=_BULK_LOG_TAIL,
                       log_underflow=_BULK_LOG_UNDERFLOW, phase_cap=_BULK_PHASE_CAP)

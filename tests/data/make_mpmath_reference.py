#!/usr/bin/env python
r"""Generate ``htmp_mpmath_grid.csv``: an independent high-precision reference for HTMP_{gamma,kappa}.

Everything here uses mpmath only (plus numpy/scipy for one cheap, rigorous
branch bracket, see 3 below). Nothing from ``src/htmp`` is imported.

Law (MATH.md section 2)
-----------------------
For gamma in (0,1) and kappa > 0 take the exact binary doubles as given and compute,
at the working precision,

    alpha = kappa (1 - gamma) / (2 gamma) - 1,   c = kappa / 2,   s = 2 gamma / kappa.

The standardised variable is x; X = x / s is the variable of the Trinh-Trinh law nu_{alpha,c}:

    f(X)  = X^alpha e^{-X} / (Gamma(c+1) Gamma(c+alpha+1) |U(c, -alpha, X e^{-i pi})|^2),
    pdf(x) = f(x/s) / s,          logpdf = log(pdf), kept even where pdf underflows a double.

1. Primary evaluation of U(c,-alpha,X e^{-i pi})  ("R1", MATH.md section 3 route (i), in mpmath)
   Im U = pi X^{1+alpha} M(c+alpha+1, 2+alpha, -X) / (Gamma(c) Gamma(alpha+2))
   Re U = Gamma(1+alpha) M(c,-alpha,-X)/Gamma(c+alpha+1) - cot(pi alpha) Im U
   For X > 2 both Kummer functions are evaluated after Kummer's transformation
   M(a,b,-X) = e^{-X} M(b-a,b,X) (mpmath's own series at -X cancels like e^X).
   mpmath's hypsum raises its internal precision until each M is correct to the working
   precision (``maxprec``/``maxterms`` are raised far above the defaults).  The cancellation
   between the two terms of Re U (large when alpha is close to an integer) is measured and the
   whole evaluation is repeated at a higher precision until at least TARGET (=45) significant
   digits survive.  When alpha is an exact integer (e.g. gamma=0.5, kappa=2 gives alpha=0
   exactly) the removable singularity is resolved by the symmetric average
   (U(alpha+eps)+U(alpha-eps))/2 with eps = 1e-30, at a precision that absorbs the 1/eps
   cancellation (truncation error O(eps^2) ~ 1e-60).  cot(pi alpha) is formed as
   cospi/sinpi (exact argument reduction); the cancellation is measured against |U|.

2. Independent checks of U (each row; figures are written into the CSV header)
   (a) "R2": a second connection formula built on a different real basis,
         U = Gamma(1-c) e^{-X} U(-alpha-c,-alpha,X)/Gamma(1+alpha+c)
             + Gamma(1-c) e^{i pi c} X^{1+alpha} e^{-X} M(1-c,2+alpha,X)/Gamma(2+alpha),
       with the real Tricomi function U(-alpha-c,-alpha,X) from mpmath's hyperu
       (derived from DLMF 13.2.41; removable singularity at integer c, resolved by the same
       symmetric average, now over c +- 1e-30).
   (b) mpmath's own complex ``hyperu(c, -alpha, z)`` with z = -X - i*0 (arg z = -pi), i.e. the
       library's asymptotic 2F0 series or its perturbation-based hypercomb, without Kummer's
       transformation (time-limited; it fails or is too slow for the largest parameters).
   (c) The Wronskian identity  Im(conj(w) w') = pi X^alpha e^{-X} / (Gamma(c) Gamma(c+alpha+1)),
       w = U(c,-alpha,X e^{-i pi}), w' = c U(c+1, 1-alpha, X e^{-i pi}) (evaluated by R1 with the
       other parameters); only reported where the two products do not cancel by > 8 digits.
   A row is kept only if (a) or (b) agrees with R1 to >= 30 significant digits in the complex
   value U (relative difference |U1-U2|/|U1| <= 1e-30) or, for the largest parameters where
   neither is feasible, (c) holds to 1e-30 and a repeat of R1 at +30 digits of precision agrees.

3. CDF = phase of U (MATH.md 2.6):  F = theta/(pi c), theta = arg U continuous from theta(0+)=0.
   theta = (principal arg mod 2 pi) + 2 pi k.  For c <= 2, k = 0.  For c > 2, k is fixed by a
   rigorous bracket of F from the n-point Gauss quadrature of the Jacobi matrix of nu_{alpha,c}
   (MATH.md 2.5; Chebyshev-Markov-Stieltjes inequalities: F(X) lies between the cumulative
   Gauss weights below and above the two neighbouring nodes; the bracket width is always
   checked to be < 2/c, so exactly one branch fits), and is cross-checked against an
   independent low-precision (dps 20) mpmath tanh-sinh quadrature of the pdf.

4. Survival function sf = 1 - F.  For F <= 0.5 (or sf > 1e-6) it is 1 - F at >= 45 digits.
   In the right tail it is computed from the exact "right-anchored" phase
   pi c sf = arg-continuous of (Re V - i Im V),  V = e^{-i pi c} U,
   Im V = -pi e^{-X} U(-alpha-c,-alpha,X)/(Gamma(c) Gamma(c+alpha+1))  (recessive solution,
   obtained with full relative precision from mpmath's real hyperu), which keeps relative
   precision down to sf ~ 1e-300 and beyond.  It is cross-checked against 1 - F where both
   are accurate, and against quadrature of the pdf from x to infinity.

5. Choice of x.  For each (gamma,kappa) the quantiles 1e-12, 1e-8, 1e-4, 0.01, 0.1, 0.5, 0.9,
   0.99, 1-1e-4, 1-1e-8, 1-1e-12 are located roughly (regula falsi in log x on the phase CDF
   at dps 20, stopping at ~2% in the tail probability) and rounded to 6 significant digits;
   x = 1 (the mean) is added, and one more point beyond the 1-1e-12 quantile where
   log10 pdf ~ -330 (pdf underflows a double; logpdf is still given).  Quantiles below 1e-300
   (alpha very close to -1, tiny c) are replaced by x from {1e-300, 1e-250, 1e-200, 1e-150,
   1e-100, 1e-50, 1e-30, 1e-10}.  All values are then computed exactly at the printed (double) x.

Usage:  python tests/data/make_mpmath_reference.py [--workers 2] [--cache DIR] [--only i,j]
        python tests/data/make_mpmath_reference.py --check-reference   (reproduce
        ../shared/spec/htmp_reference.csv, relative to the repository root)
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mproc
import os
import signal
import sys
import time

import mpmath as mp
import numpy as np
from mpmath import mpf
from scipy.linalg import eigh_tridiagonal

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_CSV = os.path.join(HERE, "htmp_mpmath_grid.csv")
TARGET = 45            # significant digits demanded from the primary evaluation
LOWD = 20              # digits for the quantile search and the branch/quadrature checks
HK = dict(maxprec=2_000_000, maxterms=2_000_000)
PER_VALUE_CAP = 60.0   # seconds; a primary value that takes longer drops the pair
CHECK_CAP = 30.0       # seconds for each optional check
QUANTS = [1e-12, 1e-8, 1e-4, 1e-2, 0.1, 0.5, 0.9, 0.99, 1 - 1e-4, 1 - 1e-8, 1 - 1e-12]
UNDERFLOW_X = [1e-300, 1e-250, 1e-200, 1e-150, 1e-100, 1e-50, 1e-30, 1e-10]
BEYOND_LOG10PDF = -330.0
WORKERS = [2]

# (gamma, kappa, why it is in the set)
PAIRS = [
    (0.5, 2.0, "alpha=0 exactly, c=1"),
    (0.75, 6.0, "alpha=0 exactly, c=3 (phase wrap)"),
    (0.3333333333333333, 1.0, "alpha=0 to ~1e-16, c=0.5"),
    (0.5, 4.0, "alpha=1 exactly, c=2"),
    (0.2, 1.0, "alpha=1 to ~1e-16, c=0.5"),
    (0.25, 4.0, "alpha=5 exactly, c=2"),
    (0.2, 3.0, "alpha=5 to ~1e-15, c=1.5"),
    (0.5, 12.0, "alpha=5 exactly, c=6 (phase wrap)"),
    (0.25, 40.0, "alpha=59 exactly, c=20 (also in htmp_reference.csv)"),
    (0.5, 200.0, "alpha=99 exactly, c=100, large kappa"),
    (0.5, 0.02, "alpha+1=1e-2, c=0.01"),
    (0.99, 1.98, "alpha+1=1e-2, c=0.99, gamma near 1"),
    (0.99, 0.0198, "alpha+1=1e-4, c=0.0099"),
    (0.99, 0.000198, "alpha+1=1e-6, c=9.9e-5 (kappa below 0.01: needed for alpha+1=1e-6)"),
    (0.01, 0.01, "tiny kappa, small gamma"),
    (0.1, 0.01, "tiny kappa"),
    (0.5, 0.01, "tiny kappa, alpha+1=5e-3"),
    (0.99, 0.01, "tiny kappa, gamma near 1, alpha+1=5.05e-5"),
    (0.01, 1.0, "small gamma, alpha=48.5"),
    (0.01, 10.0, "small gamma, alpha=494, c=5"),
    (0.01, 200.0, "small gamma, large kappa, alpha=9899, c=100"),
    (0.99, 1.0, "gamma near 1, alpha+1=5e-3"),
    (0.99, 10.0, "gamma near 1, c=5"),
    (0.99, 50.0, "gamma near 1, alpha=-0.75, c=25"),
    (0.99, 200.0, "gamma near 1, large kappa, alpha=0.0101, c=100"),
    (0.99, 1000.0, "gamma near 1, kappa=1000, alpha=4.05, c=500"),
    (0.1, 200.0, "large kappa, alpha=899, c=100"),
    (0.7, 500.0, "large kappa, alpha=106.1, c=250"),
    (0.5, 1000.0, "kappa=1000, alpha=499 exactly, c=500"),
    (0.1, 1000.0, "kappa=1000, alpha=4499 (to 3e-13), c=500"),
    (0.3, 0.7, "generic, alpha<0, c<1"),
    (0.7, 3.3, "generic, alpha<0, c=1.65"),
    (0.05, 1.0, "small gamma, alpha=8.5"),
    (0.3, 5.5, "c=2.75 (phase wrap)"),
    (0.6, 9.0, "c=4.5, alpha=2 to ~1e-16"),
    (0.9, 25.0, "c=12.5, alpha=0.389"),
    (0.15, 50.0, "c=25, alpha=140.7"),
    (0.45, 80.0, "c=40, alpha=47.9"),
    (0.8, 6.0, "c=3, alpha=-0.25 (also in htmp_reference.csv)"),
    (0.05, 0.3, "small kappa, alpha=1.85"),
    (0.02, 0.05, "small kappa, small gamma"),
    (0.95, 0.5, "alpha=-0.987, c=0.25 (also in htmp_reference.csv)"),
    (0.01, 1000.0, "corner gamma=0.01, kappa=1000: alpha=49499, c=500"),
]


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout()


class time_limit:
    def __init__(self, seconds):
        self.seconds = seconds

    def __enter__(self):
        self.old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.old)
        return False


# ---------------------------------------------------------------------------------------------
# parameters (always recomputed from the exact doubles at the current precision)
def law(gd, kd):
    g = mpf(gd)
    k = mpf(kd)
    return k * (1 - g) / (2 * g) - 1, k / 2, 2 * g / k


def M(a, b, z):
    return mp.hyp1f1(a, b, z, **HK)


def _r1_raw(a, b, X):
    """U(a,b,X e^{-i pi}) by the connection formula, b not an integer.  Returns re, im, canc(bits)."""
    if X > 2:
        e = mp.exp(-X)
        im = mp.pi * mp.power(X, 1 - b) * e * M(1 - a, 2 - b, X) * mp.rgamma(a) * mp.rgamma(2 - b)
        t1 = mp.gamma(1 - b) * mp.rgamma(a - b + 1) * e * M(b - a, b, X)
    else:
        im = mp.pi * mp.power(X, 1 - b) * M(a - b + 1, 2 - b, -X) * mp.rgamma(a) * mp.rgamma(2 - b)
        t1 = mp.gamma(1 - b) * mp.rgamma(a - b + 1) * M(a, b, -X)
    t2 = mp.cospi(b) / mp.sinpi(b) * im   # exact argument reduction (mp.cot(pi*b) loses digits near integers)
    re = t1 + t2
    # cancellation measured against |U| (the complex value must be right to TARGET digits;
    # Re U alone may be exponentially small, e.g. half-integer c far in the right tail)
    canc = max(mp.mag(t1), mp.mag(t2)) - max(mp.mag(re), mp.mag(im))
    return re, im, max(canc, 0)


def U_r1(abX, target=TARGET, extra=0):
    """abX(): returns (a, b, X) at the current precision.  Returns (mpc U, dps used)."""
    dps = target + 15 + extra
    for _ in range(8):
        with mp.workdps(dps):
            a, b, X = abX()
            n = mp.nint(b)
            if abs(b - n) < mpf(10) ** (-(target // 2 + 12)):
                e = target // 2 + 8
                with mp.workdps(dps + e + 10):
                    a, b, X = abX()
                    eps = mpf(10) ** (-e)
                    r1, i1, c1 = _r1_raw(a, b + eps, X)
                    r2, i2, c2 = _r1_raw(a, b - eps, X)
                    re, im = (r1 + r2) / 2, (i1 + i2) / 2
                    canc = max(c1, c2) - e * 3.33
            else:
                re, im, canc = _r1_raw(a, b, X)
            if canc > 20000:
                raise RuntimeError("U_r1: cancellation beyond 6000 digits")
            need = target + canc / 3.32 + 8
            if dps >= need:
                return mp.mpc(re, im), dps
            dps = int(need + 12)
    raise RuntimeError("U_r1: precision did not settle")


def U_main(gd, kd, X_of, target=TARGET, extra=0):
    def abX():
        al, c, s = law(gd, kd)
        return c, -al, X_of(s)
    return U_r1(abX, target, extra)


def U_shift(gd, kd, X_of, target=TARGET):
    """U(c+1, 1-alpha, X e^{-i pi}) (for the Wronskian)."""
    def abX():
        al, c, s = law(gd, kd)
        return c + 1, 1 - al, X_of(s)
    return U_r1(abX, target)


def _r2_raw(al, c, X):
    if X > 2:
        w3 = mp.power(X, 1 + al) * mp.exp(-X) * M(1 - c, 2 + al, X)
    else:
        w3 = mp.power(X, 1 + al) * M(c + al + 1, 2 + al, -X)
    w2 = mp.exp(-X) * mp.hyperu(-al - c, -al, X, **HK)
    pre = mp.pi * mp.rgamma(c)
    im = pre * w3 * mp.rgamma(2 + al)
    t1 = w2 * mp.rgamma(1 + al + c)
    t2 = mp.cospi(c) * w3 * mp.rgamma(2 + al)
    br = t1 + t2
    sc = mp.sinpi(c)
    re = pre * br / sc
    canc = max(mp.mag(t1), mp.mag(t2)) + mp.mag(pre / sc) - max(mp.mag(re), mp.mag(im))
    return re, im, max(canc, 0)


def U_r2(gd, kd, X_of, target=TARGET):
    """Second connection formula (real basis e^{-X}U(-a-c,-a,X), X^{1+a}e^{-X}M(1-c,2+a,X)).
    Removable singularity at integer c: symmetric average over c +- eps."""
    dps = target + 15
    for _ in range(6):
        with mp.workdps(dps):
            al, c, s = law(gd, kd)
            if abs(c - mp.nint(c)) < mpf(10) ** (-(target // 2 + 12)):
                e = target // 2 + 8
                with mp.workdps(dps + e + 10):
                    al, c, s = law(gd, kd)
                    X = X_of(s)
                    eps = mpf(10) ** (-e)
                    r1, i1, c1 = _r2_raw(al, c + eps, X)
                    r2, i2, c2 = _r2_raw(al, c - eps, X)
                    re, im = (r1 + r2) / 2, (i1 + i2) / 2
                    canc = max(c1, c2) - e * 3.33
            else:
                X = X_of(s)
                re, im, canc = _r2_raw(al, c, X)
            if canc > 20000:
                raise RuntimeError("U_r2: cancellation beyond 6000 digits")
            need = target + max(canc, 0) / 3.32 + 8
            if dps >= need:
                return mp.mpc(re, im)
            dps = int(need + 12)
    raise RuntimeError("U_r2: precision did not settle")


def U_hyperu(gd, kd, X_of, target=TARGET):
    with mp.workdps(target + 15):
        al, c, s = law(gd, kd)
        X = X_of(s)
        z = mp.mpc(-X, -X * mpf(10) ** (-(target + 40)))
        return mp.hyperu(c, -al, z, **HK)


def W_recessive(gd, kd, X_of, target=TARGET):
    """w2 = e^{-X} U(-alpha-c, -alpha, X) (real, recessive at +infinity)."""
    with mp.workdps(target + 15):
        al, c, s = law(gd, kd)
        X = X_of(s)
        return mp.exp(-X) * mp.hyperu(-al - c, -al, X, **HK)


def rel(u1, u2):
    if u1 == 0:
        return mpf(0) if u2 == 0 else mpf(1)
    return abs(u1 - u2) / abs(u1)


# ---------------------------------------------------------------------------------------------
# values from U
def pdf_parts(gd, kd, X_of, U):
    """log pdf (standardised variable) from U at the current precision."""
    al, c, s = law(gd, kd)
    X = X_of(s)
    lf = (al * mp.log(X) - X - mp.loggamma(c + 1) - mp.loggamma(c + al + 1)
          - mp.log(mp.re(U) ** 2 + mp.im(U) ** 2) - mp.log(s))
    return lf


def theta_principal(U):
    t = mp.atan2(mp.im(U), mp.re(U))
    if t < 0:
        t += 2 * mp.pi
    return t


# ---------------------------------------------------------------------------------------------
# Gauss quadrature of the Jacobi matrix (MATH.md 2.5): rigorous bracket of F for the branch
class GaussBracket:
    def __init__(self, al, c, n):
        k = np.arange(n, dtype=float)
        d = 2 * k + 2 * c + al + 1
        d[0] = al + c + 1
        j = np.arange(1, n, dtype=float)
        e = np.sqrt((j + c) * (j + c + al))
        w, v = eigh_tridiagonal(d, e)
        wt = v[0, :] ** 2
        wt /= wt.sum()
        self.nodes = w
        self.cum = np.concatenate([[0.0], np.cumsum(wt)])   # cum[i] = sum of weights of nodes < i
        self.wt = wt
        self.n = n

    def bracket(self, X):
        """(lo, hi) with lo <= F(X) <= hi (Chebyshev-Markov-Stieltjes)."""
        X = float(X)
        j = int(np.searchsorted(self.nodes, X, side="right")) - 1   # largest node <= X
        if j < 0:
            return 0.0, float(self.wt[0])
        lo = float(self.cum[j])                   # weights of nodes < x_j
        hi = float(self.cum[min(j + 2, self.n)])  # weights of nodes <= x_{j+1}
        return lo - 1e-12, min(1.0, hi + 1e-12)

    def quantile_X(self, q):
        j = int(np.searchsorted(self.cum, q))
        j = min(max(j - 1, 0), self.n - 1)
        return float(self.nodes[j])


def branch_k(Fp, c, br):
    """Choose k with Fp + 2k/c in the bracket br; returns (k, margin in units of 2/c)."""
    c = float(c)
    lo, hi = br
    if hi - lo >= 2.0 / c:
        raise RuntimeError("Gauss bracket too wide for the branch: %g vs %g" % (hi - lo, 2 / c))
    kmin = math.ceil((lo - Fp) * c / 2)
    kmax = math.floor((hi - Fp) * c / 2)
    if kmin != kmax:
        mid = 0.5 * (lo + hi)
        kk = round((mid - Fp) * c / 2)
        if kmin > kmax:   # numerical: nothing inside; nearest
            return kk, -1.0
        raise RuntimeError("ambiguous branch")
    k = kmin
    F = Fp + 2 * k / c
    # distance of the nearest other candidate from the bracket, in units of the spacing 2/c
    margin = min(lo - (F - 2 / c), (F + 2 / c) - hi) * c / 2
    return k, margin


# ---------------------------------------------------------------------------------------------
class PairEval:
    """Low-precision evaluator (dps LOWD) for searching and quadrature."""

    def __init__(self, gd, kd):
        self.gd, self.kd = gd, kd
        with mp.workdps(30):
            al, c, s = law(gd, kd)
            self.al, self.c, self.s = float(al), float(c), float(s)
        self.gauss = None
        if self.c > 2:
            n = int(min(6000, max(800, 10 * self.c)))
            self.gauss = GaussBracket(self.al, self.c, n)
            widths = [self.gauss.wt[i] + self.gauss.wt[i + 1] for i in range(n - 1)]
            if max(widths) >= 2 / self.c * 0.9:
                self.gauss = GaussBracket(self.al, self.c, 8000)
        self.nevals = 0
        self.tevals = 0.0

    def eval(self, x):
        """x: python float or mpf (standardised). Returns dict with logF, logsf, logpdf (floats)."""
        t0 = time.time()
        xm = mpf(x)
        X_of = lambda s: xm / s
        U, _ = U_main(self.gd, self.kd, X_of, target=LOWD)
        with mp.workdps(LOWD + 10):
            lp = pdf_parts(self.gd, self.kd, X_of, U)
            al, c, s = law(self.gd, self.kd)
            th = theta_principal(U)
            Fp = th / (mp.pi * c)
            if self.c > 2:
                br = self.gauss.bracket(xm / s)
                k, _ = branch_k(float(Fp), self.c, br)
                F = Fp + 2 * mpf(k) / c
            else:
                F = Fp
            sf = 1 - F
        self.nevals += 1
        self.tevals += time.time() - t0
        return dict(logF=float(mp.log(F)) if F > 0 else -1e300,
                    logsf=float(mp.log(sf)) if sf > 0 else -1e300,
                    logpdf=float(lp))

    def pdf_mp(self, x):
        xm = mpf(x)
        X_of = lambda s: xm / s
        U, _ = U_main(self.gd, self.kd, X_of, target=LOWD)
        with mp.workdps(LOWD + 5):
            return mp.exp(pdf_parts(self.gd, self.kd, X_of, U))


def illinois(g, ta, ga, tb, gb, tol_g=0.02, tol_t=1e-7, maxit=60):
    """Root of increasing g in t between ta (g<0) and tb (g>0)."""
    side = 0
    for _ in range(maxit):
        if gb - ga == 0:
            t = 0.5 * (ta + tb)
        else:
            t = tb - gb * (tb - ta) / (gb - ga)
            if not (min(ta, tb) < t < max(ta, tb)):
                t = 0.5 * (ta + tb)
        gt = g(t)
        if abs(gt) < tol_g or abs(tb - ta) < tol_t * max(1.0, abs(t)):
            return t
        if gt < 0:
            ta, ga = t, gt
            if side == -1:
                gb *= 0.5
            side = -1
        else:
            tb, gb = t, gt
            if side == 1:
                ga *= 0.5
            side = 1
    return t


def find_xs(pe: PairEval, log):
    """Approximate quantile locations (standardised x, floats) + beyond point."""
    cache = {}

    def ev(t):
        if t not in cache:
            cache[t] = pe.eval(mp.exp(t) if t < -700 else math.exp(t))
        return cache[t]

    mean, sd = 1.0, math.sqrt(pe.gd * (1 + 2 / pe.kd))
    t_lo_limit = math.log(1e-300)
    xs = []
    qinfo = []
    underflow_q = []
    for q in QUANTS:
        if q <= 0.5:
            lq = math.log(q)
            gfun = lambda t, lq=lq: ev(t)["logF"] - lq
        else:
            lq = math.log(1 - q)
            gfun = lambda t, lq=lq: lq - ev(t)["logsf"]
        # initial guess
        if pe.gauss is not None and 1e-3 < q < 1 - 1e-3:
            t0 = math.log(max(pe.gauss.quantile_X(q) * pe.s, 1e-300))
        else:
            known = sorted(cache)
            t0 = math.log(mean) if not known else None
            if t0 is None:
                # nearest known point on the correct side
                below = [t for t in known if gfun(t) < 0]
                above = [t for t in known if gfun(t) > 0]
                t0 = max(below) if (below and q > 0.5) else (min(above) if above else max(known))
        g0 = gfun(t0)
        step = 0.25 if pe.gauss is not None else 0.5
        if g0 < 0:
            ta, ga = t0, g0
            tb = t0 + step
            gb = gfun(tb)
            while gb < 0:
                ta, ga = tb, gb
                step *= 2
                tb = tb + step
                gb = gfun(tb)
        else:
            tb, gb = t0, g0
            ta = t0 - step
            if ta < t_lo_limit:
                ta = t_lo_limit
            ga = gfun(ta)
            while ga > 0:
                if ta <= t_lo_limit:
                    break
                tb, gb = ta, ga
                step *= 2
                ta = max(ta - step, t_lo_limit)
                ga = gfun(ta)
            if ga > 0:           # quantile below 1e-300
                underflow_q.append(q)
                continue
        t = illinois(gfun, ta, ga, tb, gb)
        x = float("%.6g" % math.exp(t))
        xs.append(x)
        qinfo.append((q, x))
    # underflowing quantiles -> fixed tiny x below the first regular point
    if underflow_q:
        first = min(xs) if xs else 1.0
        fixed = [u for u in UNDERFLOW_X if u < first / 10]
        n = min(len(underflow_q), len(fixed))
        fixed = [fixed[round(i * (len(fixed) - 1) / max(n - 1, 1))] for i in range(n)] if n > 1 else fixed[:n]
        xs = fixed + xs
        qinfo = [("x_fixed", u) for u in fixed] + qinfo
    # beyond point: log10 pdf ~ -330
    xr = max(xs)
    lt = math.log(10) * BEYOND_LOG10PDF
    gfun = lambda t: lt - ev(t)["logpdf"]
    ta = math.log(xr)
    ga = gfun(ta)
    if ga < 0:
        step = 0.1
        tb = ta + step
        gb = gfun(tb)
        while gb < 0:
            ta, ga = tb, gb
            step *= 2
            tb += step
            gb = gfun(tb)
        t = illinois(gfun, ta, ga, tb, gb, tol_g=2.0)
        xb = float("%.6g" % math.exp(t))
        xs.append(xb)
        qinfo.append(("beyond", xb))
    # the mean of the standardised law (x = 1), unless a point is already close to it
    if all(abs(x - 1.0) > 0.05 for x in xs):
        xs.append(1.0)
        qinfo.append(("mean", 1.0))
    xs = sorted(set(xs))
    return xs, qinfo


# ---------------------------------------------------------------------------------------------
def digits(r):
    r = float(r) if r != 0 else 1e-300
    return -math.log10(max(r, 1e-300))


def fmt(v, n=17):
    """17 significant digits (mpmath's nstr: plain decimal for moderate values, else scientific)."""
    if v == 0:
        return "0.0"
    return mp.nstr(v, n)


def final_row(pe: PairEval, x, stats):
    gd, kd = pe.gd, pe.kd
    xm = mpf(x)
    X_of = lambda s: xm / s
    row = {"x": x}
    t0 = time.time()
    with time_limit(PER_VALUE_CAP):
        U, dps_used = U_main(gd, kd, X_of)
    tU = time.time() - t0
    row["t_primary"] = tU
    row["dps_used"] = dps_used
    wp = TARGET + 15
    checks = {}
    # (a) R2
    if True:
        try:
            with time_limit(CHECK_CAP):
                U2 = U_r2(gd, kd, X_of)
            with mp.workdps(wp):
                checks["r2"] = float(rel(U, U2))
        except (Timeout, Exception) as e:   # noqa: BLE001
            checks["r2"] = "fail:" + type(e).__name__
    # (b) mpmath hyperu
    try:
        with time_limit(CHECK_CAP):
            U3 = U_hyperu(gd, kd, X_of)
        with mp.workdps(wp):
            checks["hyperu"] = float(rel(U, U3))
    except (Timeout, Exception) as e:   # noqa: BLE001
        checks["hyperu"] = "fail:" + type(e).__name__
    # (c) Wronskian
    try:
        with time_limit(CHECK_CAP):
            Up, _ = U_shift(gd, kd, X_of)
        with mp.workdps(wp):
            al, c, s = law(gd, kd)
            X = X_of(s)
            p1 = mp.re(U) * mp.im(Up) * c
            p2 = mp.im(U) * mp.re(Up) * c
            Wn = p1 - p2
            We = mp.pi * mp.exp(al * mp.log(X) - X - mp.loggamma(c) - mp.loggamma(c + al + 1))
            canc = max(mp.mag(p1), mp.mag(p2)) - mp.mag(We)
            checks["wronskian"] = float(rel(We, Wn))
            checks["wronskian_canc_digits"] = float(canc / 3.32)
    except (Timeout, Exception) as e:   # noqa: BLE001
        checks["wronskian"] = "fail:" + type(e).__name__
    # (d) repeat at +30 digits when nothing independent worked
    indep = [v for k_, v in checks.items() if k_ in ("r2", "hyperu") and not isinstance(v, str)]
    if not indep or min(indep) > 1e-30:
        try:
            with time_limit(3 * PER_VALUE_CAP):
                U4, _ = U_main(gd, kd, X_of, extra=30)
            with mp.workdps(wp):
                checks["r1_plus30"] = float(rel(U, U4))
        except (Timeout, Exception) as e:   # noqa: BLE001
            checks["r1_plus30"] = "fail:" + type(e).__name__
    row["checks"] = checks

    with mp.workdps(wp):
        al, c, s = law(gd, kd)
        X = X_of(s)
        lp = pdf_parts(gd, kd, X_of, U)
        Fp = theta_principal(U) / (mp.pi * c)
        k, margin = 0, None
        if pe.c > 2:
            br = pe.gauss.bracket(X)
            k, margin = branch_k(float(Fp), pe.c, br)
            row["gauss_bracket"] = br
        F = Fp + 2 * mpf(k) / c
        row["k"] = k
        row["branch_margin"] = margin
        sf1 = 1 - F
    # survival function
    sf = sf1
    row["sf_method"] = "1-F"
    if F > 0.5:
        try:
            with time_limit(PER_VALUE_CAP if float(sf1) < 1e-6 else CHECK_CAP):
                w2 = W_recessive(gd, kd, X_of)
            with mp.workdps(wp):
                al, c, s = law(gd, kd)
                K = mp.pi * mp.rgamma(c) * mp.rgamma(c + al + 1)
                ReV = mp.cospi(c) * mp.re(U) + mp.sinpi(c) * mp.im(U)
                ImV_u = mp.cospi(c) * mp.im(U) - mp.sinpi(c) * mp.re(U)
                dp = mp.atan2(K * w2, ReV)
                m = mp.nint((mp.pi * c * sf1 - dp) / (2 * mp.pi))
                sfd = (dp + 2 * mp.pi * m) / (mp.pi * c)
                checks["ImV_vs_recessive"] = float(abs(ImV_u + K * w2) / abs(U))
                checks["sf_delta_vs_1mF_abs"] = float(abs(sfd - sf1))
                if sf1 > 1e-20:
                    checks["sf_delta_vs_1mF_rel"] = float(abs(sfd - sf1) / sf1)
                if float(sf1) < 1e-6:
                    sf = sfd
                    row["sf_method"] = "delta"
        except (Timeout, Exception) as e:   # noqa: BLE001
            checks["sf_delta"] = "fail:" + type(e).__name__
            if float(sf1) < 1e-6:
                # fall back: 1-F at a precision that leaves TARGET digits
                need = int(TARGET + 15 - float(mp.log10(max(sf1, mpf(10) ** -200))))
                U5, _ = U_main(gd, kd, X_of, extra=need - TARGET)
                with mp.workdps(need + 20):
                    al, c, s = law(gd, kd)
                    F5 = theta_principal(U5) / (mp.pi * c) + 2 * mpf(k) / c
                    sf = 1 - F5
                row["sf_method"] = "1-F(high dps)"
    with mp.workdps(wp):
        row["pdf"] = fmt(mp.exp(lp))
        row["logpdf"] = fmt(lp)
        row["cdf"] = fmt(F)
        row["sf"] = fmt(sf)
        row["_F"] = mp.nstr(F, 50)
        row["_sf"] = mp.nstr(sf, 50)
        row["_logpdf"] = mp.nstr(lp, 50)
    row["t_row"] = time.time() - t0
    return row


def rquad(f, pts, scale):
    """mp.quad with a relative (not absolute) tolerance: integrate f/scale."""
    return mp.quad(lambda t: f(t) / scale, pts) * scale


def quad_check(pe: PairEval, rows, log):
    """Independent dps-20 tanh-sinh quadrature of the pdf; compares with the phase CDF."""
    out = {}
    xs = [r["x"] for r in rows]
    with mp.workdps(LOWD):
        f = pe.pdf_mp
        a1 = mpf(pe.al) + 1
        # [0, x1]: x = x1 e^{-u}, integrand ~ e^{-(alpha+1) u}
        x1 = mpf(xs[0])
        umax = 60 / a1 if a1 < 1 else mpf(60)
        pts = [mpf(0)]
        u = mpf(1)
        while u < umax:
            pts.append(u)
            u *= 4
        pts.append(mp.inf)
        g = lambda u: f(x1 * mp.exp(-u)) * x1 * mp.exp(-u)
        cum = rquad(g, pts, g(mpf(0)))
        Fq = {xs[0]: cum}
        inc = {}
        for xa, xb in zip(xs[:-1], xs[1:]):
            xa_, xb_ = mpf(xa), mpf(xb)
            scale = max(f(xa_), f(xb_))
            if xb_ / xa_ > 8:
                # x = e^t
                ta, tb = mp.log(xa_), mp.log(xb_)
                n = int(max(1, min(200, mp.ceil((tb - ta) * max(a1, mpf(1) / 20) / 3))))
                ps = [ta + (tb - ta) * i / mpf(n) for i in range(n + 1)]
                h = lambda t: f(mp.exp(t)) * mp.exp(t)
                inc[xa] = rquad(h, ps, max(h(ta), h(tb)))
            else:
                inc[xa] = rquad(f, [xa_, xb_], scale)
            cum += inc[xa]
            Fq[xb] = cum
        # right tail from the last point, in pieces of doubling length
        xl = mpf(xs[-1])
        L = mpf(pe.s) * 2
        tail = mpf(0)
        a = xl
        for _ in range(200):
            piece = rquad(f, [a, a + L], f(a))
            tail += piece
            a += L
            L *= 2
            if piece < tail * mpf(10) ** -25:
                break
        sfq = {xs[-1]: tail}
        acc = tail
        for xa in xs[-2::-1]:
            acc += inc[xa]
            sfq[xa] = acc
        total = Fq[xs[-1]] + tail
    mp.mp.dps = 30
    out["total_mass_minus_1"] = float(total - 1)
    dF, dsf = [], []
    for r in rows:
        F = mpf(r["_F"])
        sf = mpf(r["_sf"])
        if F <= 0.5:
            r["quad_dF_abs"] = float(abs(Fq[r["x"]] - F))
            r["quad_dF_rel"] = float(abs(Fq[r["x"]] - F) / F)
            dF.append(r["quad_dF_abs"])
        else:
            if sf > 0:
                r["quad_dsf_rel"] = float(abs(sfq[r["x"]] - sf) / sf)
                r["quad_dF_abs"] = float(abs(sfq[r["x"]] - sf))
                dsf.append(r["quad_dsf_rel"])
    out["max_abs_dF_left"] = max(dF) if dF else None
    out["max_rel_dsf_right"] = max(dsf) if dsf else None
    out["max_rel_dF_left"] = max(r.get("quad_dF_rel", 0) for r in rows)
    return out


def do_pair(idx, cache_dir):
    gd, kd, why = PAIRS[idx]
    path = os.path.join(cache_dir, "pair_%02d.json" % idx)
    if os.path.exists(path):
        with open(path) as fh:
            return json.load(fh)
    logp = os.path.join(cache_dir, "pair_%02d.log" % idx)
    logf = open(logp, "w")

    def log(*a):
        print(*a, file=logf, flush=True)

    res = dict(idx=idx, gamma=gd, kappa=kd, why=why)
    mp.mp.dps = 30
    t0 = time.time()
    try:
        pe = PairEval(gd, kd)
        with mp.workdps(30):
            al, c, s = law(gd, kd)
            res["alpha"] = mp.nstr(al, 17, strip_zeros=False)
            res["c"] = mp.nstr(c, 17)
        log("pair", idx, gd, kd, res["alpha"], res["c"])
        # a first timing probe
        tp = time.time()
        try:
            with time_limit(PER_VALUE_CAP):
                pe.eval(1.0)
        except Timeout:
            raise RuntimeError("one dps-%d evaluation of U at x=1 alone took > %gs (mpmath's 1F1 series for "
                               "M(c,-alpha,-X) needs thousands of digits of internal precision and ~X terms here); "
                               "the ~100 evaluations of the quantile search plus 12 rows x 4 checks at dps>=60 "
                               "would exceed the time budget" % (LOWD, PER_VALUE_CAP))
        tprobe = time.time() - tp
        log("probe eval(1.0) at dps %d: %.3fs" % (LOWD, tprobe))
        if tprobe > 8:
            raise RuntimeError("low-precision probe took %.1fs (> 8 s): quantile search too costly" % tprobe)
        xs, qinfo = find_xs(pe, log)
        res["quantile_search_s"] = time.time() - t0
        res["qinfo"] = qinfo
        log("xs", xs, "search %.1fs, %d evals" % (res["quantile_search_s"], pe.nevals))
        rows = []
        res["dropped_rows"] = []
        for x in xs:
            try:
                r = final_row(pe, x, None)
            except Timeout:
                res["dropped_rows"].append((x, "primary value > %gs" % PER_VALUE_CAP))
                log("dropped row", x)
                continue
            log(json.dumps(r))
            rows.append(r)
        if len(res["dropped_rows"]) > 3:
            raise RuntimeError("%d rows exceeded the %gs per-value cap" % (len(res["dropped_rows"]), PER_VALUE_CAP))
        res["rows"] = rows
        tq = time.time()
        avg = pe.tevals / max(pe.nevals, 1)
        if avg < 0.08:
            try:
                with time_limit(900):
                    res["quad"] = quad_check(pe, rows, log)
            except (Timeout, Exception) as e:  # noqa: BLE001
                res["quad"] = {"skipped": "failed: %s" % type(e).__name__}
        else:
            res["quad"] = {"skipped": "avg low-precision pdf evaluation %.2fs too slow" % avg}
        res["quad_s"] = time.time() - tq
        log("quad", res["quad"])
        res["status"] = "ok"
    except Timeout:
        res["status"] = "dropped"
        res["reason"] = "a single value exceeded the %gs per-value cap" % PER_VALUE_CAP
    except Exception as e:  # noqa: BLE001
        res["status"] = "dropped"
        res["reason"] = "%s: %s" % (type(e).__name__, e)
    res["seconds"] = time.time() - t0
    log("done", res["status"], res.get("reason", ""), "%.1fs" % res["seconds"])
    with open(path, "w") as fh:
        json.dump(res, fh)
    return res


# ---------------------------------------------------------------------------------------------
def accept_row(r):
    ch = r["checks"]
    ind = [v for k, v in ch.items() if k in ("r2", "hyperu") and not isinstance(v, str)]
    if ind and min(ind) <= 1e-30:
        return True, "independent"
    w = ch.get("wronskian")
    p = ch.get("r1_plus30")
    wok = isinstance(w, float) and (w <= 1e-30 or ch.get("wronskian_canc_digits", 99) > 8)
    if wok and isinstance(p, float) and p <= 1e-35:
        return True, "wronskian+precision"
    return False, "checks failed: %s" % ch


def write_csv(results, total_s, refcheck):
    lines = []
    add = lines.append
    add("# htmp_mpmath_grid.csv -- independent high-precision reference values of the standardised HTMP_{gamma,kappa}")
    add("# generated by tests/data/make_mpmath_reference.py on 2026-11-22 with mpmath %s (backend %s)" % (mp.__version__, mp.libmp.BACKEND))
    add("# law: alpha=kappa(1-gamma)/(2gamma)-1, c=kappa/2, s=2gamma/kappa (exact binary doubles gamma,kappa); X=x/s;")
    add("#   f(X)=X^alpha e^-X/(Gamma(c+1)Gamma(c+alpha+1)|U(c,-alpha,X e^{-i pi})|^2); pdf(x)=f(x/s)/s; logpdf=log pdf (given where pdf underflows)")
    add("# precision: U evaluated by the connection formula (MATH.md 3 route (i)) in mpmath with Kummer's transformation for X>2,")
    add("#   adaptive working precision >= %d significant digits after all cancellation (dps %d..n, hypsum maxprec=%d);" % (TARGET, TARGET + 15, HK["maxprec"]))
    add("#   exact-integer alpha: symmetric average over alpha +- 1e-30 at raised precision (error ~1e-60). Values printed to 17 significant digits.")
    add("# verification per row: (a) second connection formula with the real recessive basis e^-X U(-alpha-c,-alpha,X) (integer c: average over c +- 1e-30),")
    add("#   (b) mpmath hyperu(c,-alpha,-X-i0) directly, (c) Wronskian Im(conj(w)w')=pi X^alpha e^-X/(Gamma(c)Gamma(c+alpha+1)),")
    add("#   (d) repeat at +30 digits; a row is kept only if (a) or (b) agrees with the primary U to <=1e-30 relative, or (c) and (d) hold.")
    add("# cdf: F=theta/(pi c), theta=arg U continuous from 0; 2pi branch: k=0 for c<=2; for c>2 k fixed by the rigorous")
    add("#   Chebyshev-Markov-Stieltjes bracket of F from an n-point (800..8000) Gauss rule of the Jacobi matrix (MATH.md 2.5), width < 2/c checked;")
    add("#   cross-checked with an independent dps-20 tanh-sinh quadrature of the pdf (mpmath quad) where the pdf is cheap.")
    add("# sf: 1-F (>=45 digits) where sf>1e-6; in the right tail from the right-anchored phase pi c sf = arg(Re V - i Im V), V=e^{-i pi c}U,")
    add("#   Im V=-pi e^-X U(-alpha-c,-alpha,X)/(Gamma(c)Gamma(c+alpha+1)) (full relative precision), checked against 1-F.")
    add("# x: rough quantiles 1e-12,1e-8,1e-4,0.01,0.1,0.5,0.9,0.99,1-1e-4,1-1e-8,1-1e-12 (regula falsi on the dps-20 phase CDF, rounded to 6")
    add("#   significant digits) + x=1 (the mean) + one point beyond with log10 pdf ~ %g; quantiles below 1e-300 are replaced by x from" % BEYOND_LOG10PDF)
    add("#   {1e-300,1e-250,1e-200,1e-150,1e-100,1e-50,1e-30,1e-10} (as many as there are such quantiles, spread over those below the first regular x).")
    add("#   Values are exact for the printed x; the quantile level is only approximate.")
    add("# numbers printed beyond double range (pdf, sf) are true values; parse with mpmath/Decimal or use logpdf.")
    add("# total generation time: %.0f s wall with %d worker processes (sum over pairs %.0f s)" % (total_s, WORKERS[0], sum(r.get("seconds", 0) for r in results)))
    ok = [r for r in results if r["status"] == "ok"]
    bad = [r for r in results if r["status"] != "ok"]
    add("# covered parameter pairs (%d): gamma, kappa, alpha, c, rows, min digits of agreement with an independent U"
        " [(a) or (b)], branch (k=0 if c<=2, else min CMS margin in units of 2/c), quadrature max|F_phase-F_quad|"
        " or max rel. sf error, note" % len(ok))
    all_rows = []
    for r in ok:
        dig = []
        margins = []
        for row in r["rows"]:
            ch = row["checks"]
            ind = [v for k, v in ch.items() if k in ("r2", "hyperu") and not isinstance(v, str)]
            if ind:
                dig.append(digits(min(ind)))
            if row.get("branch_margin") is not None:
                margins.append(row["branch_margin"])
        br = ("Gauss margin %.2f" % min(margins)) if margins else "k=0"
        q = r.get("quad", {})
        if "max_abs_dF_left" in q:
            qs = "quad dF %s / rel dsf %s" % tuple("n/a" if v is None else "%.0e" % v
                                                    for v in (q["max_abs_dF_left"], q["max_rel_dsf_right"]))
        else:
            qs = "quad skipped (pdf too costly)"
        add("#   %r, %r, %s, %s, %d, %s, %s, %s, %s" % (r["gamma"], r["kappa"], r["alpha"], r["c"], len(r["rows"]),
                                                   ("%.1f" % min(dig)) if dig else "n/a", br, qs, r["why"]))
    for r in ok:
        for x, why in r.get("dropped_rows", []):
            add("#   dropped row: gamma=%r kappa=%r x=%r: %s" % (r["gamma"], r["kappa"], x, why))
    if bad:
        add("# dropped parameter pairs:")
        for r in bad:
            add("#   %r, %r: %s" % (r["gamma"], r["kappa"], r.get("reason", "")))
    for line in summary_lines(results, refcheck):
        add("# " + line)
    add("gamma,kappa,alpha,c,x,pdf,logpdf,cdf,sf")
    for r in ok:
        for row in r["rows"]:
            lines.append("%r,%r,%s,%s,%r,%s,%s,%s,%s" % (r["gamma"], r["kappa"], r["alpha"], r["c"], row["x"],
                                                       row["pdf"], row["logpdf"], row["cdf"], row["sf"]))
            all_rows.append(row)
    with open(OUT_CSV, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return len(all_rows)


def summary_lines(results, refcheck):
    out = []
    r2, hu, wr, p30, sfd, qF, qsf, qtot = [], [], [], [], [], [], [], []
    nrows = 0
    for r in results:
        if r["status"] != "ok":
            continue
        for row in r["rows"]:
            nrows += 1
            ch = row["checks"]
            if isinstance(ch.get("r2"), float):
                r2.append(ch["r2"])
            if isinstance(ch.get("hyperu"), float):
                hu.append(ch["hyperu"])
            if isinstance(ch.get("wronskian"), float) and ch.get("wronskian_canc_digits", 99) < 8:
                wr.append(ch["wronskian"])
            if isinstance(ch.get("r1_plus30"), float):
                p30.append(ch["r1_plus30"])
            if "sf_delta_vs_1mF_abs" in ch:
                sfd.append(ch["sf_delta_vs_1mF_abs"])
            if "quad_dF_abs" in row and row.get("_F") and float(row["_F"]) <= 0.5:
                qF.append(row["quad_dF_abs"])
            if "quad_dsf_rel" in row:
                qsf.append(row["quad_dsf_rel"])
        q = r.get("quad", {})
        if "total_mass_minus_1" in q:
            qtot.append(abs(q["total_mass_minus_1"]))

    def mx(v):
        return ("%.1e over %d rows" % (max(v), len(v))) if v else "n/a"
    out.append("cross-checks (max relative difference of the complex U unless stated), %d rows:" % nrows)
    out.append("  (a) second connection formula: %s" % mx(r2))
    out.append("  (b) mpmath hyperu directly: %s" % mx(hu))
    out.append("  (c) Wronskian identity (rows with < 8 digits product cancellation): %s" % mx(wr))
    out.append("  (d) primary repeated at +30 digits: %s" % mx(p30))
    out.append("  sf right-anchored phase vs 1-F, absolute: %s" % mx(sfd))
    out.append("  dps-20 quadrature of the pdf: |F_phase - F_quad| (F<=0.5): %s; rel. sf error (F>0.5): %s; |total mass - 1|: %s"
               % (mx(qF), mx(qsf), mx(qtot)))
    if refcheck:
        out.append("reproduction of shared/spec/htmp_reference.csv (40 rows, 16 digits): max rel pdf error %.2e, max abs cdf error %.2e"
                   % (refcheck["max_rel_pdf"], refcheck["max_abs_cdf"]))
    return out


def check_reference(path=None):
    cands = [path] if path else [os.path.join(HERE, "..", "..", "..", "shared", "spec",
                                              "htmp_reference.csv")]
    for p in cands:
        if p and os.path.exists(p):
            path = p
            break
    else:
        return None
    import csv
    worst_pdf, worst_cdf = 0.0, 0.0
    pes = {}
    detail = []
    with open(path) as fh:
        for rec in csv.DictReader(fh):
            gd, kd, x = float(rec["gamma"]), float(rec["kappa"]), float(rec["x"])
            key = (gd, kd)
            if key not in pes:
                pes[key] = PairEval(gd, kd)
            pe = pes[key]
            xm = mpf(x)
            X_of = lambda s: xm / s
            U, _ = U_main(gd, kd, X_of, target=30)
            with mp.workdps(40):
                al, c, s = law(gd, kd)
                lp = pdf_parts(gd, kd, X_of, U)
                Fp = theta_principal(U) / (mp.pi * c)
                k = 0
                if pe.c > 2:
                    k, _ = branch_k(float(Fp), pe.c, pe.gauss.bracket(xm / s))
                F = Fp + 2 * mpf(k) / c
                pdf = mp.exp(lp)
                rp = float(abs(pdf - mpf(rec["pdf"])) / pdf)
                dc = float(abs(F - mpf(rec["cdf"])))
            worst_pdf = max(worst_pdf, rp)
            worst_cdf = max(worst_cdf, dc)
            detail.append((gd, kd, x, rp, dc))
    return dict(max_rel_pdf=worst_pdf, max_abs_cdf=worst_cdf, path=path, detail=detail)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cache", default=os.path.join("/tmp", "htmp_mpmath_ref_cache"))
    ap.add_argument("--only", default="")
    ap.add_argument("--check-reference", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    WORKERS[0] = args.workers
    if args.check_reference:
        rc = check_reference()
        for d in rc["detail"]:
            print("%r %r %r  rel pdf %.2e  abs cdf %.2e" % d)
        print("max rel pdf error %.3e, max abs cdf error %.3e (%s)" % (rc["max_rel_pdf"], rc["max_abs_cdf"], rc["path"]))
        return
    os.makedirs(args.cache, exist_ok=True)
    idxs = list(range(len(PAIRS)))
    if args.only:
        idxs = [int(i) for i in args.only.split(",")]
    # heavy pairs first
    idxs.sort(key=lambda i: -(PAIRS[i][1] / PAIRS[i][0]))
    t0 = time.time()
    if args.workers > 1:
        with mproc.Pool(args.workers, maxtasksperchild=1) as pool:
            results = pool.starmap(do_pair, [(i, args.cache) for i in idxs], chunksize=1)
    else:
        results = [do_pair(i, args.cache) for i in idxs]
    results.sort(key=lambda r: r["idx"])
    # acceptance of rows
    for r in results:
        if r["status"] != "ok":
            continue
        badrows = [(row["x"], accept_row(row)[1]) for row in r["rows"] if not accept_row(row)[0]]
        if badrows:
            r["status"] = "dropped"
            r["reason"] = "verification below 30 digits at x=%s" % [b[0] for b in badrows]
    tsum = sum(r.get("seconds", 0) for r in results)
    print("pairs done in %.0f s wall (%.0f s cpu in workers)" % (time.time() - t0, tsum))
    rc = check_reference()
    if rc:
        print("reference CSV: max rel pdf %.3e max abs cdf %.3e" % (rc["max_rel_pdf"], rc["max_abs_cdf"]))
    total = time.time() - t0
    if not args.no_write:
        n = write_csv(results, total, rc)
        print("wrote %d rows to %s" % (n, OUT_CSV))
    for line in summary_lines(results, rc):
        print(line)
    for r in results:
        print(r["idx"], r["gamma"], r["kappa"], r["status"], r.get("reason", ""), "%.0fs" % r.get("seconds", 0))


if __name__ == "__main__":
    main()

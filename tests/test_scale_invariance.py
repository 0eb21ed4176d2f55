"""Scale: every result for 2^k W (or 2^k times a spectrum) is that for W, with the scale
parameters multiplied by 4^k (2^k), over the whole range where the eigenvalues are float64
numbers; outside it, and for zero, subnormal and non-finite weights, a clear message.

Powers of 2 are exact in floating point, so the scale-free results (labels, kappa, KS,
log-likelihood ratios, exponents) are compared for equality and the scales to the last bit
(or, for log-likelihoods, which move by n k log 4, to 1e-12 relative).
"""
import math

import numpy as np
import pytest

import htmp

W0 = np.random.default_rng(11).standard_normal((60, 150))

# weights 2^k W0: eigenvalues 4^k (0.14 .. 2.6); below k = -505 the smallest leaves the normal
# float64 range (2^-1022), above k = 511 the largest overflows
WEIGHT_KS = [-505, -400, -333, -100, -1, 0, 1, 64, 257, 400, 511]


@pytest.mark.parametrize("k", WEIGHT_KS)
def test_esd_is_exactly_scale_equivariant(k):
    ref = htmp.esd(W0)
    r = htmp.esd(np.ldexp(W0, k))
    np.testing.assert_array_equal(r.eigenvalues, np.ldexp(ref.eigenvalues, 2 * k))
    assert (r.rank, r.n_zero, r.N, r.M) == (ref.rank, ref.n_zero, ref.N, ref.M) == (60, 0, 60, 150)


@pytest.mark.parametrize("dtype, conv", [(np.float32, "flatten"), (np.float64, "slices")])
def test_esd_scale_equivariant_for_float32_and_conv_slices(dtype, conv):
    W = np.random.default_rng(2).standard_normal((12, 8, 3, 3)).astype(dtype)
    ref = htmp.esd(W, conv=conv)
    for k in (-100, 60):         # float32 holds 2^-126 .. 2^128
        r = htmp.esd(np.ldexp(W, k), conv=conv)
        np.testing.assert_array_equal(r.eigenvalues, np.ldexp(ref.eigenvalues, 2 * k))
        assert r.rank == ref.rank


@pytest.mark.parametrize("scale, text", [
    (1e-200, r"the smallest nonzero one is 1e-401 \(largest \|entry\| of W 3.83e-200\)"),
    (1e-320, r"the smallest nonzero one is 1e-641 \(largest \|entry\| of W 3.83e-320\)"),
    (1e200, r"the largest reaches 1e\+400 \(largest \|entry\| of W 3.83e\+200\)"),
])
def test_eigenvalues_outside_float64_are_an_error_naming_w(scale, text):
    with pytest.raises(ValueError, match=r"W's eigenvalues are outside the float64 range "
                                         r"\[2.23e-308, 1.8e\+308\]: " + text):
        htmp.esd(W0 * scale)


def test_esd_does_not_modify_its_input():
    for W in (np.asfortranarray(W0 * 3.0), np.ascontiguousarray(W0 * 3.0)):
        before = W.copy()
        htmp.esd(W)
        np.testing.assert_array_equal(W, before)


# -- fits of a spectrum times 2^k ----------------------------------------------------------
from dataclasses import fields as _fields     # noqa: E402

from hypothesis import given, settings, strategies as st   # noqa: E402

from htmp.fitting import (compare_mp_htmp, fit_htmp, fit_inverse_htmp, fit_invgamma,  # noqa: E402
                          fit_mp, fit_powerlaw, phase)
from htmp.laws import HTMP    # noqa: E402

# HTMP(0.4, 1.5) eigenvalues (0.0055 .. 5.8) and 8 exact zeros (censored by the HTMP fits):
# times 2^k every value stays a normal float64 for k in [-1014, 1021]
GAMMA = 0.4
X0 = np.concatenate([np.zeros(8),
                     HTMP(gamma=GAMMA, kappa=1.5).rvs(300, rng=np.random.default_rng(1))])
EIGEN_KS = [-1014, -1000, -640, -255, -1, 1, 77, 512, 1000, 1021]

# per result type: fields that are scales (x 2^k exactly) and log-likelihoods (+ n k log 1/2)
SCALES = {"MPFit": {"sigma2", "sigma2_se", "bulk_min", "bulk_max", "edge_tw", "tw_scale",
                    "threshold", "spikes"},
          "HTMPFit": {"scale", "spikes"}, "Comparison": {"mp_scale", "htmp_scale", "cut"},
          "PowerLawFit": {"xmin", "xmax"}, "InvGammaFit": {"b", "b_se"}, "PhaseResult": set()}
LOGLIKS = {"MPFit": {"loglik"}, "HTMPFit": {"loglik", "loglik_mp"},
           "Comparison": {"loglik_mp", "loglik_htmp"}, "PowerLawFit": {"loglik"},
           "InvGammaFit": {"loglik"}, "PhaseResult": set()}


def _n_density(res) -> int:
    """The number of eigenvalues whose densities make the log-likelihood."""
    return res.n_tail if type(res).__name__ == "PowerLawFit" else res.n_used


def assert_scaled(res, ref, k):
    """res (data 2^k x) against ref (data x): scales x 2^k to the last bit, log-likelihoods
    moved by -n k log 2, everything else (labels, kappa, KS, ratios, exponents) equal."""
    kind = type(ref).__name__
    for f in _fields(ref):
        a, b = getattr(res, f.name), getattr(ref, f.name)
        if f.name in SCALES[kind]:
            b = tuple(math.ldexp(v, k) for v in b) if isinstance(b, tuple) else \
                (math.ldexp(b, k) if math.isfinite(b) else b)
            assert a == b or (a != a and b != b), (f.name, a, b)
        elif f.name in LOGLIKS[kind]:
            assert a == pytest.approx(b - _n_density(ref) * k * math.log(2.0), rel=1e-12,
                                      abs=1e-9), f.name
        else:
            assert a == b or (a != a and b != b), (f.name, a, b)


FITS = {
    "mp": lambda x, s: fit_mp(x, gamma=GAMMA),
    "htmp": lambda x, s: fit_htmp(x, gamma=GAMMA),
    "inverse-htmp": lambda x, s: fit_inverse_htmp(x, gamma=GAMMA),
    "compare": lambda x, s: compare_mp_htmp(x, gamma=GAMMA),
    "powerlaw": lambda x, s: fit_powerlaw(x, min_value=0.01 * s),   # the threshold scales too
    "invgamma": lambda x, s: fit_invgamma(x),
    "phase": lambda x, s: phase(x, gamma=GAMMA),
}
_REF = {}


def _ref(name):
    if name not in _REF:
        _REF[name] = FITS[name](X0, 1.0)
    return _REF[name]


@pytest.mark.parametrize("name", list(FITS))
@pytest.mark.parametrize("k", EIGEN_KS)
def test_fits_of_2k_times_a_spectrum(name, k):
    ref = _ref(name)
    assert ref.status == "ok" if hasattr(ref, "status") else str(ref) == "unresolved"
    assert_scaled(FITS[name](np.ldexp(X0, k), math.ldexp(1.0, k)), ref, k)


@settings(max_examples=30)
@given(k=st.integers(-1014, 1021))
def test_cheap_fits_of_2k_times_a_spectrum_any_k(k):
    for name in ("mp", "powerlaw", "invgamma", "phase"):
        assert_scaled(FITS[name](np.ldexp(X0, k), math.ldexp(1.0, k)), _ref(name), k)

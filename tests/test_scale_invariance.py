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

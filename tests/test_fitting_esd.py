"""htmp.esd: normalisation, rank, conv conventions, bad input."""
import numpy as np
import pytest

import htmp
from htmp.fitting import ESDResult


def test_esd_matches_svd_both_orientations():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((60, 150))
    ref = np.sort(np.linalg.svd(W, compute_uv=False) ** 2 / 150)   # closed form: sv^2 / M
    for A in (W, W.T):
        r = htmp.esd(A)
        assert isinstance(r, ESDResult)
        assert (r.N, r.M, r.gamma, r.rank, r.n_zero) == (60, 150, 0.4, 60, 0)
        np.testing.assert_allclose(r.eigenvalues, ref, rtol=1e-10, atol=1e-12)
    assert not r.eigenvalues.flags.writeable


def test_esd_rank_deficient():
    rng = np.random.default_rng(1)
    W = rng.standard_normal((80, 10)) @ rng.standard_normal((10, 120))   # rank 10
    r = htmp.esd(W)
    assert r.rank == 10 and r.n_zero == 70
    assert r.zero_fraction == pytest.approx(70 / 80)


def test_esd_conv_conventions():
    rng = np.random.default_rng(2)
    K = rng.standard_normal((16, 8, 3, 3))
    flat = htmp.esd(K)
    assert (flat.N, flat.M, flat.conv, flat.n_slices) == (16, 72, "flatten", 1)
    np.testing.assert_allclose(flat.eigenvalues,
                               np.sort(np.linalg.svd(K.reshape(16, -1), compute_uv=False) ** 2 / 72),
                               rtol=1e-10)
    sl = htmp.esd(K, conv="slices")
    assert (sl.N, sl.M, sl.n_slices, len(sl.eigenvalues)) == (8, 16, 9, 72)
    ref = np.sort(np.concatenate([np.linalg.svd(K[:, :, i, j], compute_uv=False) ** 2 / 16
                                  for i in range(3) for j in range(3)]))
    np.testing.assert_allclose(sl.eigenvalues, ref, rtol=1e-10)


def test_esd_to_dict_and_frame():
    r = htmp.esd(np.random.default_rng(3).standard_normal((5, 9)))
    d = r.to_dict()
    assert d["shape"] == [5, 9] and len(d["eigenvalues"]) == 5
    assert r.to_frame().loc[0, "N"] == 5


@pytest.mark.parametrize("bad, msg", [
    (np.array([[1.0, np.nan], [0.0, 1.0]]), "NaN/Inf"),
    (np.array([[1.0, np.inf], [0.0, 1.0]]), "NaN/Inf"),
    (np.zeros((0, 3)), "non-empty"),
    (np.ones((1, 1)), ">= 2"),
    (np.zeros((4, 5)), "all zero"),
    (np.ones((3, 3)) + 1j, "complex"),
    (np.ones(5), "2-D"),
    (np.ones((2, 2, 2)), "2-D"),
])
def test_esd_bad_input(bad, msg):
    with pytest.raises(ValueError, match=msg):
        htmp.esd(bad)


def test_esd_bad_conv():
    with pytest.raises(ValueError, match="conv must be"):
        htmp.esd(np.ones((3, 4)), conv="fft")


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("shape", [(40, 3000), (3000, 40)])
def test_esd_any_dtype_and_memory_order_matches_float64_svd(dtype, order, shape):
    """The Gram matrix is formed block by block from the stored dtype; the result must be
    that of the float64 matrix (reference: numpy's SVD in float64)."""
    W = (np.random.default_rng(3).standard_normal(shape) * 3).astype(dtype)
    W = np.asarray(W, order=order)
    ev = htmp.esd(W).eigenvalues
    ref = np.sort(np.linalg.svd(W.astype(np.float64), compute_uv=False) ** 2 / max(shape))
    np.testing.assert_allclose(ev, ref, rtol=1e-9, atol=1e-12 * ref[-1])


def test_esd_of_float32_makes_no_float64_copy_of_the_matrix():
    import tracemalloc
    W = np.random.default_rng(0).standard_normal((12000, 200)).astype(np.float32)   # 9.6 MB
    tracemalloc.start()
    htmp.esd(W)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # a whole float64 copy alone would be 19.2 MB (2x W); one 8 MB block at a time, plus the
    # 2.4 MB finiteness mask
    assert peak < 1.2 * W.nbytes, peak


def test_esd_eigenvalue_overflow_is_reported():
    """The Gram matrix is formed from W / 2^e and cannot overflow; the eigenvalues of W
    (the largest 3.7e400: ||W||^2 / 6 with ||W||^2 ~ 22e400) cannot be float64 numbers."""
    W = np.full((4, 6), 1e200)
    W[0, 0] = 1.0
    with pytest.raises(ValueError, match=r"W's eigenvalues are outside the float64 range "
                                         r"\[2.23e-308, 1.8e\+308\]: the largest reaches "
                                         r"3.7e\+400 \(largest \|entry\| of W 1e\+200\)"):
        htmp.esd(W)

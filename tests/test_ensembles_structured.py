"""Structured matrix classes: Weyl factors vs a finite-difference Jacobian, sampling, labelling."""
from __future__ import annotations

import zlib

import numpy as np
import pytest
from scipy.linalg import block_diag, expm
from scipy.stats import chisquare, ortho_group

from htmp.ensembles import (
    BlockDiagonal,
    CommutingBlockDiagonal,
    Diagonal,
    FreeEigenvectors,
    KroneckerLike,
    Symmetric,
    random_labelling,
)


def antisym(n, p, q):
    e = np.zeros((n, n))
    e[p, q], e[q, p] = 1.0, -1.0
    return e


def pairs(n):
    return [(p, q) for p in range(n) for q in range(p + 1, n)]


def haar(n, rng):
    return ortho_group.rvs(n, random_state=rng) if n > 1 else np.ones((1, 1))


# Lie algebra generators and a random base point of each eigenvector group, built here
# independently of the library: (spec, n) -> (generators, base point Q0)
def group(spec, n, rng):
    if isinstance(spec, Diagonal):
        return [], np.eye(n)
    if isinstance(spec, Symmetric):
        return [antisym(n, p, q) for p, q in pairs(n)], haar(n, rng)
    if isinstance(spec, FreeEigenvectors):
        return [antisym(n, p, q) for p, q in pairs(spec.k)], haar(n, rng)
    d = spec.block_size
    m = n // d
    if isinstance(spec, CommutingBlockDiagonal):
        gens = [np.kron(np.eye(m), antisym(d, i, j)) for i, j in pairs(d)]
        return gens, np.kron(np.eye(m), haar(d, rng))
    if isinstance(spec, BlockDiagonal):
        gens = [np.kron(np.diag(np.eye(m)[a]), antisym(d, i, j))
                for a in range(m) for i, j in pairs(d)]
        return gens, block_diag(*[haar(d, rng) for _ in range(m)])
    if isinstance(spec, KroneckerLike):
        gens = [np.kron(antisym(m, a, b), np.eye(d)) for a, b in pairs(m)]
        gens += [np.kron(np.eye(m), antisym(d, i, j)) for i, j in pairs(d)]
        return gens, np.kron(haar(m, rng), haar(d, rng))
    raise AssertionError(spec)


def log_volume(lam, gens, q0):
    """log sqrt(det J^T J) of (lambda, omega) -> Q0 e^A diag(lambda) e^-A Q0^T at omega = 0,
    Frobenius metric (off-diagonal entries weighted sqrt 2), 5-point central differences."""
    n = lam.size
    iu = np.triu_indices(n)
    weight = np.where(iu[0] == iu[1], 1.0, np.sqrt(2.0))

    def entries(theta):
        a = sum((w * g for w, g in zip(theta[n:], gens)), np.zeros((n, n)))
        q = q0 @ expm(a)
        return ((q * theta[:n]) @ q.T)[iu] * weight

    theta0 = np.concatenate([lam, np.zeros(len(gens))])
    h = 1e-3
    cols = []
    for k in range(theta0.size):
        step = np.zeros_like(theta0)
        step[k] = h
        cols.append((-entries(theta0 + 2 * step) + 8 * entries(theta0 + step)
                     - 8 * entries(theta0 - step) + entries(theta0 - 2 * step)) / (12 * h))
    jac = np.array(cols).T
    sign, logdet = np.linalg.slogdet(jac.T @ jac)
    assert sign > 0
    return 0.5 * logdet


SPECS = [
    (Diagonal(), 5),
    (CommutingBlockDiagonal(block_size=4), 8),
    (CommutingBlockDiagonal(block_size=2), 6),
    (BlockDiagonal(block_size=3), 6),
    (BlockDiagonal(block_size=2), 8),
    (KroneckerLike(block_size=4), 8),
    (KroneckerLike(block_size=2), 6),
    (Symmetric(), 6),
    (FreeEigenvectors(k=3), 6),
]


@pytest.mark.parametrize("spec,n", SPECS, ids=lambda v: repr(v))
def test_weyl_factor_equals_jacobian_volume(spec, n):
    # MATH.md 6.1: vol / V(lambda) = sqrt(2)^(number of antisymmetric parameters)
    rng = np.random.default_rng(zlib.crc32(repr(spec).encode()) + n)
    for _ in range(3):
        lam = rng.normal(scale=2.0, size=n)
        gens, q0 = group(spec, n, rng)
        assert len(gens) == spec.group_dimension(n)
        ratio = log_volume(lam, gens, q0) - spec.log_weyl(lam)
        # residuals measured ~1e-11 (5-point stencil, h = 1e-3); 1e-10 relative on the ratio
        assert ratio == pytest.approx(len(gens) * 0.5 * np.log(2.0), abs=1e-10)


def test_naive_product_is_not_the_commuting_block_volume():
    # power check of the Jacobian test (MATH.md 6.1: the naive product is not proportional)
    spec, n, d = CommutingBlockDiagonal(block_size=4), 8, 4
    rng = np.random.default_rng(0)
    ratios = []
    for _ in range(3):
        lam = rng.normal(scale=2.0, size=n)
        gens, q0 = group(spec, n, rng)
        x = lam.reshape(-1, d)
        naive = sum(np.log(abs(x[a, i] - x[a, j])) for a in range(n // d) for i, j in pairs(d))
        ratios.append(log_volume(lam, gens, q0) - naive)
    assert np.ptp(ratios) > 0.1


@pytest.mark.parametrize("spec,n", SPECS, ids=lambda v: repr(v))
def test_sample_has_the_eigenvalues_and_is_reproducible(spec, n):
    lam = np.random.default_rng(1).normal(size=n)
    m = spec.sample(lam, rng=5)
    np.testing.assert_array_equal(m, m.T)
    np.testing.assert_allclose(np.linalg.eigvalsh(m), np.sort(lam), atol=1e-12)
    np.testing.assert_array_equal(m, spec.sample(lam, rng=np.random.default_rng(5)))


def test_sample_structure():
    lam = np.arange(1.0, 9.0)
    m = CommutingBlockDiagonal(block_size=4).sample(lam, rng=0)
    b0, b1 = m[:4, :4], m[4:, 4:]
    assert np.all(m[:4, 4:] == 0)
    np.testing.assert_allclose(b0 @ b1, b1 @ b0, atol=1e-12)           # common eigenvectors
    m = BlockDiagonal(block_size=4).sample(lam, rng=0)
    assert np.all(m[:4, 4:] == 0)
    np.testing.assert_allclose(np.linalg.eigvalsh(m[4:, 4:]), lam[4:], atol=1e-12)
    assert not np.allclose(m[:4, :4] @ m[4:, 4:], m[4:, 4:] @ m[:4, :4])  # independent Q_a
    # Kronecker: lambda_{a,i} = u_a v_i gives a Kronecker product (Van Loan rearrangement rank 1)
    u, v = np.array([1.0, 2.0]), np.array([1.0, 3.0, 5.0, 7.0])
    m = KroneckerLike(block_size=4).sample(np.kron(u, v), rng=0)
    rearranged = m.reshape(2, 4, 2, 4).transpose(0, 2, 1, 3).reshape(4, 16)
    sv = np.linalg.svd(rearranged, compute_uv=False)
    assert sv[1] < 1e-12 * sv[0]
    m = FreeEigenvectors(k=3).sample(lam, rng=0)
    np.testing.assert_array_equal(m[3:, 3:], np.diag(lam[3:]))
    q0 = ortho_group.rvs(8, random_state=1)
    m0 = FreeEigenvectors(k=3).sample(lam, rng=0, base=q0)
    np.testing.assert_allclose(q0.T @ m0 @ q0, m, atol=1e-12)


def test_log_weyl_batches_and_consistency():
    rng = np.random.default_rng(3)
    lam = rng.normal(size=(4, 3, 12))
    for spec in (Diagonal(), CommutingBlockDiagonal(block_size=3), BlockDiagonal(block_size=4),
                 KroneckerLike(block_size=6), Symmetric(), FreeEigenvectors(k=5)):
        batch = spec.log_weyl(lam)
        assert batch.shape == (4, 3)
        loop = np.array([[spec.log_weyl(v) for v in row] for row in lam])
        np.testing.assert_allclose(batch, loop, rtol=1e-13, atol=1e-12)
    v = lam[0, 0]
    sym = Symmetric().log_weyl(v)
    assert sym == pytest.approx(sum(np.log(abs(v[i] - v[j])) for i, j in pairs(12)), rel=1e-13)
    assert FreeEigenvectors(k=12).log_weyl(v) == pytest.approx(sym, rel=1e-13)
    assert CommutingBlockDiagonal(block_size=12).log_weyl(v) == pytest.approx(sym, rel=1e-13)
    assert KroneckerLike(block_size=12).log_weyl(v) == pytest.approx(sym, rel=1e-13)
    assert BlockDiagonal(block_size=4).log_weyl(v) == pytest.approx(
        sum(Symmetric().log_weyl(b) for b in v.reshape(3, 4)), rel=1e-13)
    assert CommutingBlockDiagonal(block_size=1).log_weyl(v) == 0.0
    assert Symmetric().log_weyl(v * 1e200) == pytest.approx(sym + 66 * np.log(1e200), rel=1e-13)
    assert Symmetric().log_weyl([1.0, 2.0, 1.0]) == -np.inf                 # no warning


def test_kappa_count_closed_forms():
    # MATH.md 6.2: kappa* = 2|P|/(N-1)
    assert Diagonal().kappa_count(32) == 0
    assert Symmetric().kappa_count(32) == pytest.approx(32)
    assert BlockDiagonal(block_size=4).kappa_count(32) == pytest.approx(32 * 3 / 31)
    assert FreeEigenvectors(k=8).kappa_count(32) == pytest.approx(8 * 7 / 31)
    assert CommutingBlockDiagonal(block_size=4).kappa_count(32) == pytest.approx(12 / 31)
    assert KroneckerLike(block_size=4).kappa_count(32) == pytest.approx((56 + 12) / 31)


def test_random_labelling():
    lam = np.tile(np.arange(6.0), (3000, 1))
    out = random_labelling(lam, rng=0)
    np.testing.assert_array_equal(np.sort(out, axis=-1), lam)
    np.testing.assert_array_equal(out, random_labelling(lam, rng=np.random.default_rng(0)))
    assert not np.array_equal(out[0], out[1]) or not np.array_equal(out[1], out[2])
    # uniform: the position of the largest eigenvalue is uniform on 6 slots
    counts = np.bincount(np.argmax(out, axis=-1), minlength=6)
    assert chisquare(counts).pvalue > 1e-3
    np.testing.assert_array_equal(lam, np.tile(np.arange(6.0), (3000, 1)))   # input untouched


@pytest.mark.parametrize("call,match", [
    (lambda: BlockDiagonal(block_size=5).log_weyl(np.ones(12)), r"block_size must divide the number of eigenvalues n=12 \(accepted: divisors of 12\), got 5"),
    (lambda: KroneckerLike(block_size=5).sample(np.arange(12.0)), r"block_size must divide"),
    (lambda: CommutingBlockDiagonal(block_size=0), r"block_size must be an integer >= 1, got 0"),
    (lambda: Symmetric().log_weyl([1.0, np.nan]), r"eigvals must be finite"),
    (lambda: Symmetric().sample(np.ones((2, 3))), r"eigvals must be a 1-D array"),
    (lambda: FreeEigenvectors(k=5).log_weyl(np.ones(3)), r"k must be <= the number of eigenvalues n=3 \(accepted: 1..3\), got 5"),
    (lambda: FreeEigenvectors(k=2).sample(np.ones(3), base=np.ones((3, 3))), r"base must be an orthogonal matrix"),
    (lambda: random_labelling([1.0, np.inf]), r"eigvals must be finite"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_specs_are_frozen():
    spec = BlockDiagonal(block_size=2)
    with pytest.raises(AttributeError):
        spec.block_size = 3
    assert spec == BlockDiagonal(block_size=2) and hash(spec) == hash(BlockDiagonal(block_size=2))

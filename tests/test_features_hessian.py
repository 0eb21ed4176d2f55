"""Hessian spectra: the exact path against closed forms and finite differences, SLQ moments
and Wasserstein-1 against the exact spectrum, top-k against exact, and bad inputs."""
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

torch = pytest.importorskip("torch")

from htmp.features import (  # noqa: E402
    MAX_EXACT_PARAMS,
    HessianDensity,
    hessian_density,
    hessian_eigvals,
    hessian_topk,
)

MSE = torch.nn.MSELoss()


@pytest.fixture(scope="module")
def mlp_problem():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 12), torch.nn.Tanh(), torch.nn.Linear(12, 3))
    X, y = torch.randn(64, 5), torch.randn(64, 3)
    return model, X, y, hessian_eigvals(model, MSE, X, y)  # d = 111


def test_linear_regression_closed_form():
    # closed form: L = mean((Xw - y)^2) has H = 2 X^T X / n for every w
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 6)), rng.standard_normal((40, 1))
    model = torch.nn.Linear(6, 1, bias=False)
    got = hessian_eigvals(model, MSE, X, y)
    np.testing.assert_allclose(got, np.linalg.eigvalsh(2 * X.T @ X / 40), rtol=1e-12, atol=1e-14)
    gn = hessian_eigvals(model, MSE, X, y, matrix="gauss_newton")  # linear model: GN = H
    np.testing.assert_allclose(gn, got, rtol=1e-12, atol=1e-14)


def test_exact_matches_finite_differences():
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    X, y = torch.randn(16, 3, dtype=torch.float64), torch.randn(16, 2, dtype=torch.float64)
    params = [p.detach().double().reshape(-1) for p in model.parameters()]
    theta0 = torch.cat(params)
    sizes, shapes = [p.numel() for p in model.parameters()], [p.shape for p in model.parameters()]

    def grad_at(theta):  # autograd gradient; Hessian columns by central differences of it
        theta = theta.clone().requires_grad_(True)
        W1, b1, W2, b2 = [v.view(s) for v, s in zip(theta.split(sizes), shapes)]
        loss = MSE(torch.tanh(X @ W1.T + b1) @ W2.T + b2, y)
        return torch.autograd.grad(loss, theta)[0]

    h, d = 1e-5, theta0.numel()
    cols = [(grad_at(theta0 + h * e) - grad_at(theta0 - h * e)) / (2 * h)
            for e in torch.eye(d, dtype=torch.float64)]
    H = torch.stack(cols, 1).numpy()
    ref = np.linalg.eigvalsh((H + H.T) / 2)
    np.testing.assert_allclose(hessian_eigvals(model, MSE, X, y), ref, atol=1e-8)


def test_gauss_newton_is_ntk_for_mse(mlp_problem):
    # paper §3.2: for MSE averaged over n*k outputs, G = (2/(nk)) J^T J, whose nonzero
    # spectrum is that of the NTK Gram (2/(nk)) J J^T; J computed here with jacrev directly.
    from torch.func import functional_call, jacrev

    model, X, y, _ = mlp_problem
    names = [k for k, _ in model.named_parameters()]
    X64 = X.double()
    params = {k: p.detach().double() for k, p in model.named_parameters()}

    def f(*ps):
        return functional_call(model, dict(zip(names, ps)), (X64,)).reshape(-1)

    jac = torch.cat([j.reshape(192, -1) for j in jacrev(f, argnums=tuple(range(4)))(
        *params.values())], 1).numpy()
    ntk = np.linalg.eigvalsh(2 / 192 * jac @ jac.T)  # 192 = n * k outputs > d = 111
    gn = hessian_eigvals(model, MSE, X, y, matrix="gauss_newton")
    np.testing.assert_allclose(gn[-50:], ntk[-50:], rtol=1e-9, atol=1e-12)
    assert gn.min() > -1e-12  # positive semi-definite
    top = hessian_topk(model, MSE, X, y, k=3, rng=0, matrix="gauss_newton")  # the GN products
    np.testing.assert_allclose(top, gn[::-1][:3], rtol=1e-8)


def test_slq_moments_and_wasserstein(mlp_problem):
    model, X, y, exact = mlp_problem
    res = hessian_density(model, MSE, X, y, n_probes=20, n_steps=30, rng=0)
    assert isinstance(res, HessianDensity)
    assert res.nodes.shape == res.weights.shape == (30, 20) and res.n_params == exact.size
    np.testing.assert_allclose(res.weights.sum(axis=0), 1, rtol=1e-10)
    for k in (1, 2):  # Hutchinson: unbiased for (1/d) tr H^k; within 4 standard errors
        truth = np.mean(exact**k)
        assert abs(res.moment(k) - truth) < 4 * res.moment_stderr(k)
    w1 = wasserstein_distance(res.nodes.ravel(), exact, u_weights=res.weights.ravel())
    assert w1 < 0.02 * (exact.max() - exact.min())  # measured 0.019 on a range of 2.0 -> 1%
    lo, hi = res.spectral_range  # Ritz values lie inside [lambda_min, lambda_max]
    assert exact.min() - 1e-9 <= lo and hi <= exact.max() + 1e-9
    np.testing.assert_allclose(hi, exact.max(), rtol=1e-6)  # extremes converge first
    grid = np.linspace(exact.min() - 1, exact.max() + 1, 4001)
    dens, err = res.density(grid), res.density_stderr(grid, sigma=0.05)
    assert abs(np.trapezoid(dens, grid) - 1) < 1e-6 and np.all(err >= 0)
    again = hessian_density(model, MSE, X, y, n_probes=20, n_steps=30, rng=0)
    np.testing.assert_array_equal(again.nodes, res.nodes)  # seeded probes
    assert res.to_dict()["n_steps"] == 30


def test_slq_gauss_newton_trace(mlp_problem):
    model, X, y, _ = mlp_problem
    gn = hessian_eigvals(model, MSE, X, y, matrix="gauss_newton")
    res = hessian_density(model, MSE, X, y, n_probes=10, n_steps=20, rng=1, matrix="gauss_newton")
    assert abs(res.moment(1) - gn.mean()) < 4 * res.moment_stderr(1)


def test_topk_matches_exact(mlp_problem):
    model, X, y, exact = mlp_problem
    np.testing.assert_allclose(hessian_topk(model, MSE, X, y, k=3, rng=0), exact[::-1][:3],
                               rtol=1e-8)
    np.testing.assert_allclose(hessian_topk(model, MSE, X, y, k=2, which="SA", rng=0),
                               exact[:2][::-1], rtol=1e-8)


def test_bad_inputs(mlp_problem):
    model, X, y, _ = mlp_problem
    frozen = torch.nn.Linear(5, 3).requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        hessian_eigvals(frozen, MSE, X, y)
    with pytest.raises(ValueError, match=r"model\(X\) failed for X of shape \(64, 4\)"):
        hessian_density(model, MSE, X[:, :4], y, rng=0)
    with pytest.raises(ValueError, match="y must have its first axis of length n_samples = 64"):
        hessian_topk(model, MSE, X, y[:10])
    with pytest.raises(ValueError, match="loss_fn.* must return a scalar"):
        hessian_eigvals(model, torch.nn.MSELoss(reduction="none"), X, y)
    with pytest.raises(ValueError, match="at most max_params=100.*use hessian_density"):
        hessian_eigvals(model, MSE, X, y, max_params=100)
    with pytest.raises(ValueError, match=r"n_steps must be an integer in \[1, 111\]"):
        hessian_density(model, MSE, X, y, n_steps=200)
    with pytest.raises(ValueError, match=r"k must be an integer in \[1, 110\]"):
        hessian_topk(model, MSE, X, y, k=111)
    with pytest.raises(ValueError, match="matrix must be one of"):
        hessian_eigvals(model, MSE, X, y, matrix="fisher")
    with pytest.raises(ValueError, match="sigma must be finite and in"):
        hessian_density(model, MSE, X, y, n_probes=2, n_steps=3, rng=0).density([0.0], sigma=0)
    broken = torch.nn.Linear(5, 3)
    with torch.no_grad():
        broken.bias[0] = float("nan")
    with pytest.raises(ValueError, match="NaN or inf outputs"):
        hessian_eigvals(broken, MSE, X, y)
    assert model.training  # flags restored after every refusal
    assert MAX_EXACT_PARAMS == 4096


def test_import_does_not_import_torch():
    code = "import sys, htmp, htmp.features; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)

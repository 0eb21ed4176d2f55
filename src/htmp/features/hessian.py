"""Spectrum of the Hessian (or Gauss-Newton matrix) of a training loss.

``L(theta) = loss_fn(model(X; theta), y)`` over the trainable parameters ``theta``
(flattened to one vector of length ``d``, in ``named_parameters()`` order).

* :func:`hessian_eigvals`: all ``d`` eigenvalues from the dense matrix (``torch.func``),
  for models with at most :data:`MAX_EXACT_PARAMS` parameters.
* :func:`hessian_density`: stochastic Lanczos quadrature (SLQ) from Hessian-vector
  products, for any size: quadrature nodes/weights per probe, a Gaussian-smoothed density
  and its across-probe standard error (:class:`HessianDensity`).
* :func:`hessian_topk`: the ``k`` extreme eigenvalues by Lanczos (``scipy.sparse.linalg.
  eigsh`` on a ``LinearOperator`` of Hessian-vector products).

``matrix="gauss_newton"`` replaces the Hessian by ``J^T H_out J`` (``J`` the Jacobian of
the outputs, ``H_out`` the Hessian of the loss in the outputs); for the MSE loss this is
a multiple of the Fisher matrix and its nonzero spectrum is the NTK's (paper §3.2).

The model is evaluated in eval mode (dropout off, batch-norm running statistics) so that
the matrix is deterministic; training flags are restored afterwards.  Computation is in
float64 unless ``dtype="float32"``.  torch is imported only when a function is called.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from htmp._validation import check_param, check_positive_int
from htmp.fitting._results import FitResult
from htmp.nn._torch import import_torch

__all__ = ["MAX_EXACT_PARAMS", "HessianDensity", "hessian_density", "hessian_eigvals",
           "hessian_topk"]

#: Largest parameter count :func:`hessian_eigvals` accepts (a d x d float64 matrix of
#: 4096^2 entries is 128 MiB and needs d Hessian-vector products).
MAX_EXACT_PARAMS = 4096

_MATRICES = ("hessian", "gauss_newton")
_DTYPES = ("float64", "float32")


class _Problem:
    """A validated ``(model, loss_fn, X, y)``: flat parameters and matrix-vector products."""

    def __init__(self, model, loss_fn, X, y, matrix, dtype):
        torch = self.torch = import_torch()
        from torch.func import functional_call

        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable as loss_fn(output, y), got {loss_fn!r}")
        if matrix not in _MATRICES:
            raise ValueError(f"matrix must be one of {_MATRICES}, got {matrix!r}")
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {_DTYPES}, got {dtype!r}")
        params = {k: p for k, p in model.named_parameters() if p.requires_grad}
        if not params:
            raise ValueError("model has no trainable parameters (none with requires_grad=True)")
        self.dtype = getattr(torch, dtype)
        self.matrix = matrix
        ref = next(iter(params.values()))
        self.device = ref.device
        self.names = list(params)
        self.shapes = [p.shape for p in params.values()]
        self.sizes = [p.numel() for p in params.values()]
        self.d = sum(self.sizes)
        self.theta = torch.cat([p.detach().reshape(-1) for p in params.values()]).to(self.dtype)
        frozen = {k: p.detach() for k, p in model.named_parameters() if not p.requires_grad}
        frozen.update(dict(model.named_buffers()))
        self.frozen = {k: (v.to(self.dtype) if v.is_floating_point() else v)
                       for k, v in frozen.items()}
        self.X = self._tensor(X, "X")
        self.y = self._tensor(y, "y")
        if self.X.ndim < 1 or self.X.shape[0] < 1:
            raise ValueError(f"X must have shape (n_samples, ...) with n_samples >= 1, "
                             f"got shape {tuple(self.X.shape)}")
        if self.y.ndim < 1 or self.y.shape[0] != self.X.shape[0]:
            raise ValueError(f"y must have its first axis of length n_samples = "
                             f"{self.X.shape[0]} (that of X), got shape {tuple(self.y.shape)}")
        self.model, self.loss_fn, self._call = model, loss_fn, functional_call
        self._flags = {m: m.training for m in model.modules()}
        model.eval()
        try:
            self._check_forward()
        except BaseException:
            self.close()
            raise

    def _tensor(self, value, name):
        torch = self.torch
        if isinstance(value, np.ndarray):
            value = torch.as_tensor(value)
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor or numpy.ndarray, "
                            f"got {type(value).__name__}")
        value = value.to(self.device)
        return value.to(self.dtype) if value.is_floating_point() else value

    def close(self):
        for module, flag in self._flags.items():
            module.training = flag

    def output(self, theta):
        pieces = theta.split(self.sizes)
        params = {k: v.view(s) for k, v, s in zip(self.names, pieces, self.shapes)}
        return self._call(self.model, {**params, **self.frozen}, (self.X,))

    def loss_out(self, out):
        return self.loss_fn(out, self.y).reshape(())

    def loss(self, theta):
        return self.loss_out(self.output(theta))

    def _check_forward(self):
        """One forward pass: the cheap checks that must pass before any heavy work."""
        torch = self.torch
        with torch.no_grad():
            try:
                out = self.output(self.theta)
            except (RuntimeError, ValueError, TypeError, IndexError) as err:
                raise ValueError(f"model(X) failed for X of shape {tuple(self.X.shape)}; X "
                                 f"must have the shape the model expects ({err})") from err
            if not isinstance(out, torch.Tensor):
                raise TypeError(f"model(X) must return a tensor, got {type(out).__name__}")
            if not bool(torch.isfinite(out).all()):
                raise ValueError("model(X) returned NaN or inf outputs")
            loss = self.loss_fn(out, self.y)
            if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
                shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss)
                raise ValueError(f"loss_fn(output, y) must return a scalar tensor (use a "
                                 f"reduction such as 'mean'), got {shape}")
            if not bool(torch.isfinite(loss).all()):
                raise ValueError(f"loss_fn(output, y) is not finite: {loss.item()}")
        self.n_outputs = out.numel()
        self._pullbacks = None

    def matvec(self, v):
        """Hessian (or Gauss-Newton) times ``v``, without the d x d matrix.

        Reverse mode only: ``H v`` is the pullback of ``grad`` (``H`` is symmetric), and
        ``J v`` the pullback of the (linear) map ``u -> J^T u``.  The pullbacks are built
        once and reused for every vector.  Forward mode (``jvp``) is avoided: in torch 2.13
        ``jvp`` of ``grad`` fails on ``mse_loss`` ("ZeroTensors are immutable") and its
        first use emits a ``torch.jit.script`` DeprecationWarning.
        """
        from torch.func import grad, vjp

        if self._pullbacks is None:
            if self.matrix == "hessian":
                self._pullbacks = (vjp(grad(self.loss), self.theta)[1],)
            else:
                out, out_pull = vjp(self.output, self.theta)
                out = out.detach()
                jac_pull = vjp(lambda u: out_pull(u)[0], self.torch.zeros_like(out))[1]
                self._pullbacks = (out_pull, vjp(grad(self.loss_out), out)[1], jac_pull)
        if self.matrix == "hessian":
            return self._pullbacks[0](v)[0]
        out_pull, loss_pull, jac_pull = self._pullbacks
        return out_pull(loss_pull(jac_pull(v)[0])[0])[0]

    def dense(self):
        from torch.func import grad, jacrev

        if self.matrix == "hessian":
            return jacrev(grad(self.loss))(self.theta)
        jac = jacrev(self.output)(self.theta).reshape(-1, self.d)
        out = self.output(self.theta).detach()
        h_out = jacrev(grad(self.loss_out))(out).reshape(out.numel(), out.numel())
        return jac.T @ h_out @ jac


def hessian_eigvals(model, loss_fn, X, y, *, matrix="hessian", dtype="float64",
                    max_params=MAX_EXACT_PARAMS) -> np.ndarray:
    """All ``d`` eigenvalues (ascending, float64) of the Hessian of ``loss_fn(model(X), y)``.

    The dense ``d x d`` matrix is built with ``torch.func.jacrev(grad(...))`` on the flat parameter
    vector (``functional_call``), symmetrised and diagonalised with ``numpy.linalg.
    eigvalsh``.  ``matrix="gauss_newton"`` gives the Gauss-Newton matrix instead.  Models
    with more than ``max_params`` (default :data:`MAX_EXACT_PARAMS`) trainable parameters
    are refused: use :func:`hessian_density` / :func:`hessian_topk`.
    """
    max_params = check_positive_int("max_params", max_params)
    prob = _Problem(model, loss_fn, X, y, matrix, dtype)
    try:
        if prob.d > max_params:
            raise ValueError(f"model has {prob.d} trainable parameters; hessian_eigvals "
                             f"accepts at most max_params={max_params} (a dense d x d "
                             f"matrix); use hessian_density or hessian_topk for large models")
        if matrix == "gauss_newton" and prob.n_outputs > max_params:
            raise ValueError(f"model(X) has {prob.n_outputs} outputs; the exact Gauss-Newton "
                             f"matrix accepts at most max_params={max_params}; use "
                             f"hessian_density(..., matrix='gauss_newton')")
        H = prob.dense().detach().to("cpu", prob.torch.float64).numpy()
    finally:
        prob.close()
    return np.linalg.eigvalsh((H + H.T) / 2)


def _probe(torch, rng, d, dtype, device):
    z = rng.integers(0, 2, size=d).astype(np.float64) * 2 - 1  # Rademacher, |z|^2 = d
    return torch.as_tensor(z / np.sqrt(d), dtype=dtype, device=device)


def _lanczos(matvec, v, m, torch):
    """m steps of Lanczos with full reorthogonalisation -> (alpha, beta) of T (may stop early)."""
    V = torch.empty((m, v.numel()), dtype=v.dtype, device=v.device)
    alpha, beta = [], []
    V[0] = v
    for j in range(m):
        w = matvec(V[j].clone())
        alpha.append(float(V[j] @ w))
        w = w - V[: j + 1].T @ (V[: j + 1] @ w)  # Gram-Schmidt, twice ("twice is enough")
        w = w - V[: j + 1].T @ (V[: j + 1] @ w)
        b = float(torch.linalg.vector_norm(w))
        if j == m - 1 or b <= 1e-10 * max(1.0, max(abs(a) for a in alpha)):
            break  # last step, or an invariant subspace: T's eigenvalues are exact there
        beta.append(b)
        V[j + 1] = w / b
    return np.array(alpha), np.array(beta)


def _gauss_quadrature(alpha, beta, m):
    """Nodes = eigenvalues of T, weights = squared first eigenvector entries; padded to m."""
    from scipy.linalg import eigh_tridiagonal

    if len(alpha) == 1:
        nodes, vecs = alpha.copy(), np.ones((1, 1))
    else:
        nodes, vecs = eigh_tridiagonal(alpha, beta)
    weights = vecs[0] ** 2
    pad = m - len(nodes)  # early stop: the missing nodes repeat the last one with weight 0
    return (np.concatenate([nodes, np.full(pad, nodes[-1])]),
            np.concatenate([weights, np.zeros(pad)]))


@dataclasses.dataclass(frozen=True)
class HessianDensity(FitResult):
    """Stochastic Lanczos quadrature of a Hessian's spectral density.

    ``nodes`` and ``weights`` (``n_steps x n_probes``): per probe, the Gauss quadrature
    of the spectral measure ``(1/d) sum_i delta(t - lambda_i)`` (each column's weights
    sum to 1).  ``spectral_range``: the smallest and largest node (Ritz values, inside
    the true ``[lambda_min, lambda_max]``).  ``n_params`` is ``d``.
    """

    nodes: np.ndarray
    weights: np.ndarray
    spectral_range: tuple
    n_params: int
    n_steps: int
    n_probes: int
    matrix: str

    def _sigma(self, sigma):
        if sigma is None:
            lo, hi = self.spectral_range
            return max(hi - lo, 1e-12 * max(abs(lo), abs(hi), 1.0)) / 100
        return float(check_param("sigma", sigma, 0, np.inf, "open"))

    def _per_probe_density(self, grid, sigma):
        grid = np.asarray(grid, dtype=float)
        s = self._sigma(sigma)
        z = (grid[..., None, None] - self.nodes) / s
        kernel = np.exp(-0.5 * z**2) / (s * np.sqrt(2 * np.pi))
        return (kernel * self.weights).sum(axis=-2)  # (..., n_probes)

    def density(self, grid, sigma=None) -> np.ndarray:
        """Gaussian-smoothed density on ``grid`` (mean over probes); integrates to 1.

        ``sigma`` (> 0) is the kernel width; default 1/100 of the spectral range.
        """
        return self._per_probe_density(grid, sigma).mean(axis=-1)

    def density_stderr(self, grid, sigma=None) -> np.ndarray:
        """Across-probe standard error of :meth:`density` (NaN with one probe)."""
        per = self._per_probe_density(grid, sigma)
        if self.n_probes < 2:
            return np.full(per.shape[:-1], np.nan)
        return per.std(axis=-1, ddof=1) / np.sqrt(self.n_probes)

    def _moments(self, k):
        k = check_positive_int("k", k, minimum=0)
        return (self.weights * self.nodes**k).sum(axis=0)

    def moment(self, k) -> float:
        """Estimate of ``(1/d) tr(H^k)`` (exact in each probe for ``k < 2 n_steps``)."""
        return float(self._moments(k).mean())

    def moment_stderr(self, k) -> float:
        """Across-probe standard error of :meth:`moment` (NaN with one probe)."""
        per = self._moments(k)
        return float(per.std(ddof=1) / np.sqrt(self.n_probes)) if self.n_probes > 1 else np.nan


def hessian_density(model, loss_fn, X, y, *, n_probes=10, n_steps=60, rng=None,
                    matrix="hessian", dtype="float64") -> HessianDensity:
    """Stochastic Lanczos quadrature of the Hessian's eigenvalue density.

    ``n_probes`` Rademacher vectors drawn from ``rng`` (a numpy Generator or seed, run
    through ``np.random.default_rng``); from each, ``n_steps`` Lanczos steps with full
    reorthogonalisation on Hessian-vector products (``torch.func``: ``jvp`` of ``grad``).
    Cost: ``n_probes * n_steps`` Hessian-vector products and ``n_steps x d`` memory.
    ``n_steps`` must be at most ``d``.  Returns a :class:`HessianDensity`.
    """
    n_probes = check_positive_int("n_probes", n_probes)
    n_steps = check_positive_int("n_steps", n_steps)
    rng = np.random.default_rng(rng)
    prob = _Problem(model, loss_fn, X, y, matrix, dtype)
    try:
        if n_steps > prob.d:
            raise ValueError(f"n_steps must be an integer in [1, {prob.d}] (the number of "
                             f"trainable parameters), got {n_steps}")
        nodes = np.empty((n_steps, n_probes))
        weights = np.empty((n_steps, n_probes))
        torch = prob.torch
        for i in range(n_probes):
            v = _probe(torch, rng, prob.d, prob.dtype, prob.device)
            alpha, beta = _lanczos(lambda u: prob.matvec(u).detach(), v, n_steps, torch)
            nodes[:, i], weights[:, i] = _gauss_quadrature(alpha, beta, n_steps)
    finally:
        prob.close()
    return HessianDensity(nodes, weights, (float(nodes.min()), float(nodes.max())),
                          prob.d, n_steps, n_probes, matrix)


def hessian_topk(model, loss_fn, X, y, *, k=1, which="LA", rng=None, tol=0.0,
                 matrix="hessian", dtype="float64") -> np.ndarray:
    """The ``k`` extreme eigenvalues of the Hessian, descending.

    ``which``: ``"LA"`` largest (algebraic), ``"SA"`` smallest, ``"LM"`` largest in
    magnitude.  ARPACK's implicitly restarted Lanczos (``scipy.sparse.linalg.eigsh``) on
    a ``LinearOperator`` of Hessian-vector products, started from a vector drawn from
    ``rng``; ``tol`` is eigsh's relative accuracy (0: machine precision).  ``k`` must be
    below ``d``; for all eigenvalues use :func:`hessian_eigvals`.
    """
    from scipy.sparse.linalg import LinearOperator, eigsh

    k = check_positive_int("k", k)
    if which not in ("LA", "SA", "LM"):
        raise ValueError(f"which must be one of ('LA', 'SA', 'LM'), got {which!r}")
    tol = float(check_param("tol", tol, 0, np.inf, "right-open"))
    rng = np.random.default_rng(rng)
    prob = _Problem(model, loss_fn, X, y, matrix, dtype)
    try:
        if k >= prob.d:
            raise ValueError(f"k must be an integer in [1, {prob.d - 1}] (below the number of "
                             f"trainable parameters), got {k}; use hessian_eigvals")
        torch = prob.torch

        def mv(x):
            u = torch.as_tensor(np.ravel(x), dtype=prob.dtype, device=prob.device)
            return prob.matvec(u).detach().to("cpu", torch.float64).numpy()

        op = LinearOperator((prob.d, prob.d), matvec=mv, dtype=np.float64)
        v0 = rng.standard_normal(prob.d)
        vals = eigsh(op, k=k, which=which, v0=v0, tol=tol, return_eigenvectors=False)
    finally:
        prob.close()
    return np.sort(vals)[::-1]

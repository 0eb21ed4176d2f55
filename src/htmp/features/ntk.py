"""Eigenvalues of the empirical neural tangent kernel (NTK) Gram matrix of a torch model.

For a model f with trainable parameters theta and a batch X of n inputs whose outputs
have k entries each, J is the (n*k) x P Jacobian d vec f(X) / d theta (row ``i*k + c`` is
output c of sample i; P counts every parameter with ``requires_grad``).  The NTK Gram
matrix is the raw ``G = J Jᵀ`` (no division by n or P; the paper's NTK Gram), and
:func:`ntk_eigvals` returns its n*k eigenvalues, ascending.

J is never formed.  The parameters are cut into chunks (several small tensors together,
or a run of elements of one large tensor) of at most ``max_chunk_bytes`` of Jacobian
columns; for each chunk the columns J_c come from ``torch.func.jacrev`` restricted to
that chunk (the other parameters held fixed through ``functional_call``), are converted
to float64 (64 MiB of columns at a time) and added as ``G += J_c J_cᵀ``
(``torch.addmm``, upper triangle only), then freed.  Peak memory is ``8 (n k)^2`` bytes
for G plus about one chunk; the eigenvalues come from LAPACK ``eigvalsh``
(``torch.linalg.eigvalsh`` on CUDA), float64 throughout, so they are accurate to about
``n k eps lambda_max`` in absolute terms; eigenvalues at that level (G is singular when
P < n k) may be slightly negative.

``per_sample=True`` (default) takes the Jacobian of each sample on its own (``vmap``
over the samples of a batch-of-one forward, the torch.func NTK recipe): k backward
passes per sample instead of n*k passes through the whole batch.  It assumes output i
depends only on input i, true for a model in ``eval()`` mode; a model with BatchNorm in
training mode couples the samples and needs ``per_sample=False``.  Buffers are copied:
a forward in training mode does not update the model's running statistics.

With ``per_sample=True`` and ``linear_fast=True`` / ``conv_fast=True`` (defaults),
``nn.Linear`` / ``nn.Conv1d`` / ``nn.Conv2d`` layers skip the Jacobian: their Gram blocks
come from the layer inputs (forward hooks; convolution patches by ``F.unfold``) and output
gradients (k backward passes through one forward of the batch); see
:mod:`htmp.features._ntk_conv` for the two ways of forming them, sharing and fallbacks.
Where per-sample gradients are formed (convolutions, Linear layers on long sequences), their
Gram products run in the model's dtype over at most 4096 columns at a time, summed in
float64: for a float32 model the eigenvalues then carry about 2e-8 lambda_max of float32
product rounding, beside the float32 rounding of the Jacobian entries themselves.  With a
BatchNorm that normalises with the batch's statistics the fast paths are off.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ..fitting import FitResult, readonly_array
from ._ntk_conv import gram_add, layer_fast

__all__ = ["NTKSpectrum", "ntk_eigvals", "MAX_CHUNK_BYTES", "MAX_GRAM_BYTES", "DENSE_BYTES"]

MAX_CHUNK_BYTES = 256 * 2**20   # Jacobian columns held at once (model dtype)
MAX_GRAM_BYTES = 2 * 2**30      # the float64 (n k) x (n k) Gram matrix: n k <= 16384
DENSE_BYTES = 16 * 2**20        # a whole Jacobian up to this size: one jacrev chunk, no fast
                                # path (benchmarks/bench_ntk.py: 4k-parameter CNN, n k = 400)


@dataclass(frozen=True)
class NTKSpectrum(FitResult):
    """Spectrum of the empirical NTK Gram ``J Jᵀ``.

    ``eigenvalues`` ascending (read-only, float64), length ``n * k``; ``n`` samples,
    ``k`` outputs per sample, ``n_params`` trainable parameters (columns of J),
    ``n_chunks`` parameter chunks the Gram matrix was accumulated over by the Jacobian
    path, ``n_linear_fast`` parameter tensors (``nn.Linear`` weights and biases) and
    ``n_conv_fast`` (``nn.Conv1d`` / ``nn.Conv2d`` weights and biases) whose Gram blocks
    came from the layer fast path instead.
    """

    eigenvalues: np.ndarray
    n: int
    k: int
    n_params: int
    n_chunks: int
    per_sample: bool
    dtype: str
    device: str
    n_linear_fast: int = 0
    n_conv_fast: int = 0

    @property
    def tol(self) -> float:
        """Rounding level of the eigenvalues, ``n k eps max|lambda|`` with eps of the
        model's dtype (the Gram products run in it): eigenvalues within it of 0, negative
        ones included, are zeros for the fits (:func:`htmp.fitting.as_eigenvalues`)."""
        eps = float(np.finfo(np.float32 if self.dtype.endswith("float32") else
                             np.float16 if self.dtype.endswith(("float16", "bfloat16"))
                             else np.float64).eps)
        if self.dtype.endswith("bfloat16"):
            eps = 2.0 ** -7
        top = float(np.max(np.abs(self.eigenvalues))) if len(self.eigenvalues) else 0.0
        return self.n * self.k * eps * top

    @property
    def trace(self) -> float:
        """``sum(eigenvalues)`` = squared Frobenius norm of J."""
        return float(np.sum(self.eigenvalues))


def _check_int_bytes(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer number of bytes, got {value!r}")
    return int(value)


def _trainable(model, torch) -> dict:
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = {name: p for name, p in model.named_parameters() if p.requires_grad}
    if not params:
        raise ValueError("model must have at least one trainable parameter "
                         "(requires_grad=True), got none")
    dtypes = {p.dtype for p in params.values()}
    if len(dtypes) > 1 or not next(iter(dtypes)).is_floating_point:
        raise ValueError(f"the trainable parameters must share one floating dtype, got "
                         f"{sorted(str(d) for d in dtypes)}")
    return params


def _check_no_training_batchnorm(model) -> None:
    """per_sample=True runs each sample alone: a BatchNorm in training mode would normalise
    it by its own statistics and update its running ones (torch's vmap refuses that deep
    inside the Jacobian); say so before any work."""
    from torch.nn.modules.batchnorm import _BatchNorm

    names = [name or type(m).__name__ for name, m in model.named_modules()
             if isinstance(m, _BatchNorm) and m.training and m.track_running_stats]
    if names:
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        raise ValueError(f"per_sample=True needs BatchNorm layers in eval mode, got "
                         f"{len(names)} in training mode ({shown}): call model.eval(), or "
                         f"pass per_sample=False to differentiate the whole batch")


def _as_batch(X, dtype, device, torch):
    if not isinstance(X, torch.Tensor):
        arr = np.asarray(X)
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"X must be a numeric array or tensor, got dtype {arr.dtype}")
        X = torch.from_numpy(np.ascontiguousarray(arr))
    if X.ndim < 1 or X.shape[0] < 1:
        raise ValueError(f"X must be a batch with at least one sample along dim 0, got "
                         f"shape {tuple(X.shape)}")
    if X.is_floating_point():
        if not bool(torch.isfinite(X).all()):
            raise ValueError("X must be finite, got NaN or inf entries")
        X = X.to(dtype)
    return X.to(device)


def _forward_k(model, state, X, per_sample: bool, torch) -> int:
    """Outputs per sample (k), from a forward pass on X (or its first sample): shape
    errors surface here, before any heavy work."""
    from torch.func import functional_call

    x = X[:1] if per_sample else X
    try:
        with torch.no_grad():
            out = functional_call(model, state, (x,))
    except (RuntimeError, ValueError, TypeError, IndexError) as err:
        alone = (" (per_sample=True passes each sample alone, as a batch of one; "
                 "per_sample=False passes the whole batch)") if per_sample else ""
        raise ValueError(f"X of shape {tuple(X.shape)} could not be passed through the "
                         f"model{alone}: {err}") from err
    if not isinstance(out, torch.Tensor) or out.ndim < 1 or out.shape[0] != x.shape[0]:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"the model must return one tensor of shape (batch, ...), got "
                         f"{shape} for a batch of {x.shape[0]}")
    return out[0].numel()


def _check_outputs_finite(model, state, X, torch) -> None:
    from torch.func import functional_call

    with torch.no_grad():
        out = functional_call(model, state, (X,))
    if not bool(torch.isfinite(out).all()):
        raise ValueError("the model's outputs on X must be finite, got NaN or inf")


def _chunks(params: dict, rows: int, bytes_per_col: int, max_chunk_bytes: int) -> list:
    """Parameter chunks: lists of ``(name, start, stop)`` over flattened tensors, at most
    ``max_chunk_bytes // (rows * bytes_per_col)`` columns each; small tensors share one."""
    cols = max(1, max_chunk_bytes // (rows * bytes_per_col))
    chunks, cur, used = [], [], 0
    for name, p in params.items():
        m = p.numel()
        if m > cols:            # a large tensor: runs of elements, each its own chunk
            if cur:
                chunks.append(cur)
                cur, used = [], 0
            chunks.extend([[(name, a, min(a + cols, m))] for a in range(0, m, cols)])
            continue
        if used + m > cols:
            chunks.append(cur)
            cur, used = [], 0
        cur.append((name, 0, m))
        used += m
    if cur:
        chunks.append(cur)
    return chunks


def _chunk_jacobian(model, base: dict, buffers: dict, chunk: list, X, per_sample: bool,
                    max_chunk_bytes: int, torch):
    """Columns of J for the parameters in ``chunk``: a (n k) x c tensor, model dtype."""
    from torch.func import functional_call, jacrev, vmap

    sliced = [(name, a, b) for name, a, b in chunk if b - a < base[name].numel()]
    args = tuple(base[name].reshape(-1)[a:b] if (name, a, b) in sliced else base[name]
                 for name, a, b in chunk)

    def f(args, x):
        params = dict(base)
        for (name, a, b), t in zip(chunk, args, strict=True):
            if (name, a, b) in sliced:
                flat = base[name].reshape(-1)
                # cat's backward hands t a view of the whole tensor's gradient; the
                # product makes it a copy, so the whole gradient is freed at once
                t = torch.cat([flat[:a], t * 1.0, flat[b:]]).view(base[name].shape)
            params[name] = t
        bufs = {k: v.clone() for k, v in buffers.items()}   # may be updated in place
        out = functional_call(model, (params, bufs), (x.unsqueeze(0) if per_sample else x,))
        return out.reshape(-1)

    # a sliced tensor's backward forms its whole gradient for every output row being
    # differentiated at once: bound that with jacrev's chunk_size
    big = max((base[name].numel() for name, _, _ in sliced), default=0)
    itemsize = base[chunk[0][0]].element_size()
    chunk_size = None
    if big:
        per_row = big * itemsize * (X.shape[0] if per_sample else 1)
        chunk_size = max(1, max_chunk_bytes // per_row)
    jac = jacrev(f, chunk_size=chunk_size)
    if per_sample:
        cols = vmap(jac, in_dims=(None, 0))(args, X)       # tuple of (n, k, *shape)
        n = X.shape[0]
        blocks = [c.reshape(n * c.shape[1], -1) for c in cols]
    else:
        cols = jac(args, X)                                # tuple of (n k, *shape)
        blocks = [c.reshape(c.shape[0], -1) for c in cols]
    return blocks[0] if len(blocks) == 1 else torch.cat(blocks, dim=1)


def _accumulate(G, Jc, torch) -> None:
    """Upper triangle of ``G += Jc Jcᵀ``: products in Jc's dtype over at most 4096 columns
    at a time, summed into the float64 G (:func:`._ntk_conv.gram_add`; for a float32 model
    about 2e-8 x lambda_max of rounding, against 1.5-2x the time of float64 products)."""
    gram_add(G, Jc, torch)


def ntk_eigvals(model, X, *, device: str = "cpu", per_sample: bool = True,
                max_chunk_bytes: int = MAX_CHUNK_BYTES,
                max_gram_bytes: int = MAX_GRAM_BYTES,
                linear_fast: bool | None = None,
                conv_fast: bool | None = None) -> NTKSpectrum:
    """Ascending eigenvalues of the empirical NTK Gram ``J Jᵀ`` of ``model`` on batch ``X``.

    Parameters
    ----------
    model : torch.nn.Module
        Its parameters with ``requires_grad=True`` are differentiated; buffers and the
        module's mode (call ``model.eval()`` first for dropout/BatchNorm) are used as is.
        The model is not modified.
    X : tensor or array, shape (n, ...)
        n inputs along dim 0; converted to the parameters' dtype if floating.
    device : "cpu" or "cuda"
        Where the Jacobian chunks and G are computed (copies of the parameters are moved).
    per_sample : bool
        Differentiate each sample on its own (outputs must not couple samples); False
        differentiates the whole batch (BatchNorm in training mode).
    max_chunk_bytes : int
        Bound on the Jacobian columns held at once (in the model's dtype); a slice of a
        large tensor also holds up to this much of transient gradients.
    max_gram_bytes : int
        Bound on the float64 Gram matrix ``8 (n k)^2`` bytes; larger is a ValueError
        raised before any differentiation.
    linear_fast : bool or None
        With ``per_sample=True``, form the Gram blocks of ``nn.Linear`` layers from their
        inputs and output gradients (no Jacobian columns); False uses the chunked
        Jacobian for every parameter.  None (default): the fast path unless the whole
        Jacobian is at most :data:`DENSE_BYTES` (16 MiB), where one ``jacrev`` call over
        every parameter is as fast (the fast path's extra backward passes and checks
        cost more than they save there).
    conv_fast : bool or None
        The same for ``nn.Conv1d`` and ``nn.Conv2d`` layers (any stride, padding,
        dilation, groups, padding mode): their weights' Jacobian rows are formed from the
        input patches and output gradients, without ``jacrev``.

    Returns
    -------
    NTKSpectrum
    """
    from ..analysis import check_device
    from ..nn import import_torch

    torch = import_torch()
    check_device(device)
    max_chunk_bytes = _check_int_bytes(max_chunk_bytes, "max_chunk_bytes")
    max_gram_bytes = _check_int_bytes(max_gram_bytes, "max_gram_bytes")
    params = _trainable(model, torch)
    if per_sample:
        _check_no_training_batchnorm(model)
    dtype = next(iter(params.values())).dtype
    base = {name: p.detach().to(device) for name, p in model.named_parameters()}
    # copies: a forward in training mode updates buffers (BatchNorm's running stats)
    buffers = {name: b.detach().clone().to(device) for name, b in model.named_buffers()}
    X = _as_batch(X, dtype, device, torch)
    n = X.shape[0]
    k = _forward_k(model, (base, buffers), X, per_sample, torch)
    rows = n * k
    if 8 * rows**2 > max_gram_bytes:
        raise ValueError(f"the NTK Gram matrix is (n*k)^2 = {rows}^2 float64 entries "
                         f"({8 * rows**2 / 2**30:.2f} GiB) for n={n} samples x k={k} "
                         f"outputs; max_gram_bytes allows <= {max_gram_bytes / 2**30:.2f} "
                         f"GiB (n*k <= {math.isqrt(max_gram_bytes // 8)}): use fewer samples")
    _check_outputs_finite(model, (base, buffers), X, torch)

    G = torch.zeros((rows, rows), dtype=torch.float64, device=device)
    itemsize = torch.empty((), dtype=dtype).element_size()
    dense = rows * itemsize * sum(p.numel() for p in params.values()) <= DENSE_BYTES
    linear_fast = not dense if linear_fast is None else bool(linear_fast)
    conv_fast = not dense if conv_fast is None else bool(conv_fast)
    done_linear, done_conv = set(), set()
    if per_sample and (linear_fast or conv_fast):
        done_linear, done_conv = layer_fast(model, params, base, buffers, X, G, k,
                                            max_chunk_bytes, torch, linear=linear_fast,
                                            conv=conv_fast)
    done = done_linear | done_conv
    rest = {name: p for name, p in params.items() if name not in done}
    chunks = _chunks(rest, rows, itemsize, max_chunk_bytes)
    for chunk in chunks:
        Jc = _chunk_jacobian(model, base, buffers, chunk, X, per_sample, max_chunk_bytes,
                             torch)
        _accumulate(G, Jc.detach(), torch)
        del Jc
    if not bool(torch.isfinite(G).all()):
        raise ValueError("the Jacobian of the model's outputs is not finite (NaN or inf "
                         "gradients)")
    if device == "cpu":
        ev = scipy.linalg.eigvalsh(G.numpy(), lower=False, overwrite_a=True,
                                   check_finite=False)
    else:
        ev = torch.linalg.eigvalsh(G, UPLO="U").cpu().numpy()
    return NTKSpectrum(eigenvalues=readonly_array(np.sort(ev)), n=n, k=k,
                       n_params=sum(p.numel() for p in params.values()),
                       n_chunks=len(chunks), per_sample=per_sample, dtype=str(dtype),
                       device=device, n_linear_fast=len(done_linear),
                       n_conv_fast=len(done_conv))

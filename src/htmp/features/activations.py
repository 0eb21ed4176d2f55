"""Spectra of activations: the conjugate kernel of each module's output.

For a module whose output, flattened per sample, is the ``n x p`` matrix Phi
(``n`` samples of ``X``), :func:`activation_eigvals` returns the eigenvalues of
``Phi^T Phi / n`` (the ``p x p`` feature covariance, uncentred).  The conjugate
kernel ``Phi Phi^T / n`` (``n x n``) has the same nonzero eigenvalues; whichever of the
two is smaller is diagonalised, so exactly ``min(n, p)`` eigenvalues come back,
ascending.  The ``|n - p|`` zeros that only the larger matrix has are not reported;
zeros of the smaller one (a rank-deficient Phi) are.

torch is imported only when the function is called (``import htmp`` never imports it).
"""
from __future__ import annotations

import numpy as np

from htmp.nn._spec import compile_layers
from htmp.nn._torch import import_torch

__all__ = ["activation_eigvals"]


def _as_input(torch, X, model):
    """``X`` as a tensor on the model's device; arrays take the model's float dtype."""
    ref = next(iter(model.parameters()), None)
    device = ref.device if ref is not None else None
    if isinstance(X, torch.Tensor):
        return X.to(device) if device is not None else X
    if isinstance(X, np.ndarray):
        dtype = ref.dtype if ref is not None and X.dtype.kind == "f" else None
        return torch.as_tensor(X, dtype=dtype, device=device)
    raise TypeError(f"X must be a torch.Tensor or numpy.ndarray of shape (n_samples, ...), "
                    f"got {type(X).__name__}")


def _first_tensor(torch, output):
    """A module's output tensor; for tuple/list outputs (e.g. an LSTM) the first tensor."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)):
        for item in output:
            if isinstance(item, torch.Tensor):
                return item
    return None


def _select(model, layers):
    pattern = compile_layers(layers)
    names = []
    for name, module in model.named_modules():
        if name == "":
            continue  # the model itself: its output is the prediction, not a feature map
        if pattern is None:
            if next(module.children(), None) is None:  # leaves only: no duplicated outputs
                names.append(name)
        elif pattern.search(name):
            names.append(name)
    if not names:
        where = f" matching layers={layers!r}" if layers is not None else ""
        raise ValueError(f"model has no submodules{where}; available names: "
                         f"{[n for n, _ in model.named_modules() if n][:20]}")
    return names


def _gram_eigvals(phi: np.ndarray) -> np.ndarray:
    """min(n, p) ascending eigenvalues of Phi^T Phi / n via the smaller Gram matrix."""
    n, p = phi.shape
    gram = phi.T @ phi if p <= n else phi @ phi.T
    evals = np.linalg.eigvalsh(gram / n)
    return np.clip(evals, 0.0, None)  # PSD: round-off negatives (|.| ~ eps * max) -> 0


def activation_eigvals(model, X, *, layers=None) -> dict:
    """``{module name: eigenvalues}`` of ``Phi^T Phi / n`` for each selected module.

    ``model`` is a ``torch.nn.Module``; ``X`` a tensor or array whose first axis indexes
    the ``n`` samples.  ``layers`` is a regular expression searched (``re.search``) in the
    names of ``model.named_modules()``, as in ``analyze``; ``None`` selects every leaf
    module (one without children).  The model's own (empty) name is never selected.

    One forward pass is made in eval mode under ``torch.no_grad()`` with forward hooks on
    the selected modules (the training flags are restored afterwards).  Each output is
    flattened per sample to ``Phi`` (``n x p``, float64; for tuple outputs the first
    tensor) and the ``min(n, p)`` eigenvalues of the smaller of ``Phi^T Phi / n`` and
    ``Phi Phi^T / n`` are returned ascending, as float64 numpy arrays, in the order of
    ``named_modules()``.  Modules that the forward pass never calls are left out.

    Raises ``TypeError`` for a non-module or a non-array ``X``, ``ValueError`` for an
    empty ``X``, a forward pass that fails on ``X``, an output whose first axis is not
    ``n``, or non-finite activations (naming the module).
    """
    torch = import_torch()
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    X = _as_input(torch, X, model)
    if X.ndim < 1 or X.shape[0] < 1:
        raise ValueError(f"X must have shape (n_samples, ...) with n_samples >= 1, "
                         f"got shape {tuple(X.shape)}")
    n = X.shape[0]
    names = _select(model, layers)
    modules = dict(model.named_modules())
    captured: dict = {}

    def hook_for(name):
        def hook(_module, _inputs, output):
            out = _first_tensor(torch, output)
            if out is not None and name not in captured:
                captured[name] = out.detach().to("cpu", torch.float64)
        return hook

    flags = {m: m.training for m in model.modules()}
    handles = [modules[name].register_forward_hook(hook_for(name)) for name in names]
    try:
        model.eval()
        with torch.no_grad():
            try:
                model(X)
            except (RuntimeError, ValueError, TypeError, IndexError) as err:
                raise ValueError(f"model(X) failed for X of shape {tuple(X.shape)}; X must "
                                 f"have the shape the model expects ({err})") from err
    finally:
        for handle in handles:
            handle.remove()
        for module, flag in flags.items():
            module.training = flag

    result = {}
    for name in names:
        if name not in captured:
            continue
        out = captured[name]
        if out.ndim < 1 or out.shape[0] != n:
            raise ValueError(f"output of module {name!r} has shape {tuple(out.shape)}; its "
                             f"first axis must be the {n} samples of X")
        phi = out.reshape(n, -1).numpy()
        if not np.all(np.isfinite(phi)):
            raise ValueError(f"activations of module {name!r} contain NaN or inf")
        result[name] = _gram_eigvals(phi)
    return result

"""Where the Gram eigenvalues are computed: "cpu" (numpy/LAPACK, :func:`htmp.esd`) or "cuda".

On "cuda" the Gram matrix and its eigenvalues (``torch.linalg.eigvalsh``, float64) are
computed on the GPU; the result is the same :class:`htmp.fitting.ESDResult` that
:func:`htmp.esd` returns (same normalisation, clipping, rank tolerance), so every fit
downstream is unchanged.  torch is imported only when "cuda" is asked for.
"""
from __future__ import annotations

import numpy as np

from ..fitting import ESDResult, esd
from ..fitting._results import _readonly
from ..fitting.esd import _check_matrix

__all__ = ["DEVICES", "check_device", "esd_on"]

DEVICES = ("cpu", "cuda")


def check_device(device: str) -> str:
    """``device`` itself; ValueError for an unknown name, RuntimeError when CUDA is absent."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    if device == "cuda":
        try:
            import torch
        except ImportError as err:
            raise RuntimeError("device='cuda' needs PyTorch with CUDA: pip install "
                               "'htmp[torch]'") from err
        if not torch.cuda.is_available():
            raise RuntimeError("device='cuda' was requested but torch.cuda.is_available() is "
                               "False (no CUDA GPU or driver visible to PyTorch); use "
                               "device='cpu'")
    return device


def _torch_gram_eigvals(mats, device) -> np.ndarray:
    import torch

    out = []
    for m in mats:
        a, b = m.shape
        w = torch.as_tensor(np.ascontiguousarray(m), dtype=torch.float64, device=device)
        g = w @ w.T if a <= b else w.T @ w
        out.append(torch.linalg.eigvalsh(g).cpu().numpy() / max(a, b))
        del w, g
    return np.concatenate(out)


def esd_on(W, *, conv: str, device: str) -> ESDResult:
    """:func:`htmp.esd` of ``W`` with the eigen-decomposition on ``device``."""
    if device == "cpu":
        return esd(W, conv=conv)
    arr = _check_matrix(W)
    shape = tuple(int(s) for s in arr.shape)
    if arr.ndim == 4 and conv == "slices":
        mats = [arr[:, :, i, j] for i in range(shape[2]) for j in range(shape[3])]
    elif arr.ndim == 4:
        mats = [arr.reshape(shape[0], -1)]
    else:
        mats, conv = [arr], "none"
    a, b = mats[0].shape
    N, M = min(a, b), max(a, b)
    ev = np.sort(_torch_gram_eigvals(mats, device))
    tol = M * np.finfo(float).eps * ev[-1]
    ev = np.clip(ev, 0.0, None)
    rank = int(np.sum(ev > tol))
    return ESDResult(eigenvalues=_readonly(ev), gamma=N / M, N=N, M=M, rank=rank,
                     n_zero=len(ev) - rank, tol=float(tol), shape=shape, conv=conv,
                     n_slices=len(mats))

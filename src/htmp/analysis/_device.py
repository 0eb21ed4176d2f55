"""Where the Gram eigenvalues are computed: "cpu" (numpy/LAPACK, :func:`htmp.esd`) or "cuda".

On "cuda" the Gram matrix and its eigenvalues (``torch.linalg.eigvalsh``, float64) are
computed on the GPU; the result is the same :class:`htmp.fitting.ESDResult` that
:func:`htmp.esd` returns (same normalisation, clipping, rank tolerance), so every fit
downstream is unchanged.  torch is imported only when "cuda" is asked for.
"""
from __future__ import annotations

import numpy as np

from ..fitting import ESDResult, esd
from ..fitting.esd import esd_with

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


def _torch_gram_eigvals(m: np.ndarray, device, e: int = 0) -> np.ndarray:
    """Eigenvalues of the smaller Gram matrix of ``2^-e m`` / max(shape), with torch on
    ``device``; the power of 2 is applied in two exact halves (2^1074 alone overflows)."""
    import torch

    a, b = m.shape
    w = torch.as_tensor(np.ascontiguousarray(m), dtype=torch.float64, device=device)
    if e:
        w = w * 2.0 ** (-(e // 2)) * 2.0 ** (-(e - e // 2))
    g = w @ w.T if a <= b else w.T @ w
    return torch.linalg.eigvalsh(g).cpu().numpy() / max(a, b)


def esd_on(W, *, conv: str, device: str) -> ESDResult:
    """:func:`htmp.esd` of ``W`` with the eigen-decomposition on ``device``."""
    if device == "cpu":
        return esd(W, conv=conv)
    return esd_with(W, conv=conv, scaled=True,
                    gram_eigvals=lambda m, e: _torch_gram_eigvals(m, device, e))

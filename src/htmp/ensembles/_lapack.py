"""LAPACK ``dlasq1`` (dqds) for the singular values of a bidiagonal matrix.

scipy does not wrap a bidiagonal SVD in ``scipy.linalg.lapack``, but its public
Cython LAPACK (``scipy.linalg.cython_lapack``) exports ``dlasq1`` as a PyCapsule;
we call that function pointer through ctypes.  dqds computes all singular
values to high *relative* accuracy (Demmel-Kahan, Fernando-Parlett), which the
tridiagonal solvers on ``T = B B^T`` (``sterf``/``stemr``) do not: they are
accurate to ``eps * ||T||`` only, and at high temperature many eigenvalues of
the beta-Laguerre model are far below that (e.g. 1e-80, returned as negative
numbers of order -1e-16 by ``eigvalsh_tridiagonal``).
"""
from __future__ import annotations

import ctypes

import numpy as np

__all__ = ["bidiagonal_singular_values"]

_DLASQ1 = None


def _load():
    global _DLASQ1
    if _DLASQ1 is None:
        try:
            from scipy.linalg import cython_lapack

            capsule = cython_lapack.__pyx_capi__["dlasq1"]
            api = ctypes.pythonapi
            api.PyCapsule_GetName.restype = ctypes.c_char_p
            api.PyCapsule_GetName.argtypes = [ctypes.py_object]
            api.PyCapsule_GetPointer.restype = ctypes.c_void_p
            api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
            ptr = api.PyCapsule_GetPointer(capsule, api.PyCapsule_GetName(capsule))
            vec = np.ctypeslib.ndpointer(dtype=np.float64, ndim=1, flags="C_CONTIGUOUS")
            ip = ctypes.POINTER(ctypes.c_int)
            _DLASQ1 = ctypes.CFUNCTYPE(None, ip, vec, vec, vec, ip)(ptr)
        except Exception:                       # pragma: no cover - exotic scipy builds
            _DLASQ1 = False
    return _DLASQ1


def bidiagonal_singular_values(d: np.ndarray, e: np.ndarray) -> np.ndarray | None:
    """Singular values (ascending) of the bidiagonal matrix with diagonal d, off-diagonal e.

    Returns ``None`` when ``dlasq1`` cannot be reached (the caller falls back).
    """
    fn = _load()
    if not fn:
        return None
    n = d.size
    if n >= 2**31 - 1:                          # pragma: no cover - 32-bit LAPACK ints
        return None
    dd = np.array(d, dtype=np.float64, copy=True)
    ee = np.zeros(max(n, 1), dtype=np.float64)
    ee[: n - 1] = e
    work = np.empty(4 * max(n, 1), dtype=np.float64)
    info = ctypes.c_int(0)
    fn(ctypes.byref(ctypes.c_int(n)), dd, ee, work, ctypes.byref(info))
    if info.value != 0:
        return None
    return dd[::-1].copy()

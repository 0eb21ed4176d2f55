"""``.npy`` and ``.npz`` readers that read each array's header before any of its data.

numpy's own ``np.load`` allocates whatever a header declares (a 1 MB ``.npz`` of zeros
can declare a gigabyte) and one unreadable ``.npz`` member fails the whole archive.  Here
the header (``numpy.lib.format.read_magic`` + ``read_array_header_*``) gives the shape
and dtype first, the data length is checked against what the file or zip member holds,
and :func:`htmp.nn.weight_specs` skips arrays over ``max_elements`` before ``load()``.
Each ``.npz`` member is listed on its own: a corrupt one gets a spec with ``error`` (a
"failed" row) and the others are still read.  Pickled object arrays are never loaded.
"""
from __future__ import annotations

import math
import os
import struct
import tokenize
import zipfile
import zlib
from functools import partial
from pathlib import Path

import numpy as np

from ._spec import WeightSpec, clip, count, refused, show, to_float, weight_status

__all__ = ["HEADER_ERRORS", "ZIP_ERRORS", "npy_specs", "npz_specs"]

_fmt = np.lib.format
# what numpy's header parser and zipfile raise on hostile bytes
HEADER_ERRORS = (ValueError, TypeError, KeyError, IndexError, SyntaxError, RecursionError,
                 OverflowError, MemoryError, EOFError, struct.error, tokenize.TokenError)
ZIP_ERRORS = (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError,
              RuntimeError, ValueError, struct.error)
_CHUNK = 1 << 24      # bytes per read from a compressed member


def read_npy_header(f) -> tuple[tuple, bool, np.dtype]:
    """(shape, fortran_order, dtype) from a stream at the start of a ``.npy``; the stream
    is left where the data starts.  ValueError says what is wrong."""
    try:
        version = _fmt.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = _fmt.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = _fmt.read_array_header_2_0(f)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    except HEADER_ERRORS as err:
        raise ValueError(f"not a readable .npy header ({type(err).__name__}: "
                         f"{clip(str(err))})") from None
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
        raise ValueError(f"shape must be non-negative integers, got {show(shape)}")
    return tuple(shape), bool(fortran), dtype


def _dtype_name(dtype: np.dtype) -> str:
    return "object" if dtype.hasobject else str(dtype)


def _check_length(shape, dtype: np.dtype, available: int) -> str:
    need = math.prod(shape) * dtype.itemsize          # Python ints: no int64 wrap
    if need > available:
        return (f"shape {show(shape)} of {show(dtype.str, 40)} needs {count(need)} data bytes, "
                f"the file holds {available}")
    return ""


def _spec(name, shape, dtype, source, load, error="") -> WeightSpec | None:
    """A spec for one array, or None when it is not a weight (1-D, bool, ...)."""
    status = weight_status(shape, _dtype_name(dtype), "tensor")
    if status is None:
        return None
    if status:
        return refused(name, "tensor", shape, _dtype_name(dtype), source, skip=status)
    if error:
        return refused(name, "tensor", shape, str(dtype), source, error=error)
    return WeightSpec(name, "tensor", shape, str(dtype), load, source)


# --- .npy ---------------------------------------------------------------------------------

def _load_npy(path, shape, fortran, dtype, offset) -> np.ndarray:
    count = math.prod(shape)
    with open(path, "rb") as f:
        if read_npy_header(f) != (shape, fortran, dtype) or f.tell() != offset:
            raise ValueError(f"{path}: the .npy header changed since it was listed")
        arr = np.fromfile(f, dtype=dtype, count=count)
    if arr.size != count:
        raise ValueError(f"{path}: truncated array data ({arr.size} of {count} values)")
    return to_float(arr.reshape(shape, order="F" if fortran else "C"))


def npy_specs(path) -> list[WeightSpec]:
    """One spec named by the file stem; a header that cannot be parsed refuses the file."""
    with open(path, "rb") as f:
        try:
            shape, fortran, dtype = read_npy_header(f)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
        offset = f.tell()
    error = _check_length(shape, dtype, os.path.getsize(path) - offset)
    load = partial(_load_npy, path, shape, fortran, dtype, offset)
    spec = _spec(Path(path).stem, shape, dtype, str(path), load,
                 f"{path}: {error}" if error else "")
    return [spec] if spec else []


# --- .npz ---------------------------------------------------------------------------------

def _read_member(f, shape, fortran, dtype) -> np.ndarray:
    """The data of a member stream at its data start, read in chunks into one array."""
    count = math.prod(shape)
    arr = np.empty(count, dtype=dtype)
    view = memoryview(arr).cast("B")
    pos = 0
    while pos < len(view):
        chunk = f.read(min(_CHUNK, len(view) - pos))
        if not chunk:
            raise ValueError(f"truncated member data ({pos} of {len(view)} bytes)")
        view[pos:pos + len(chunk)] = chunk
        pos += len(chunk)
    return to_float(arr.reshape(shape, order="F" if fortran else "C"))


def _load_npz_member(path, index: int, member: str, header) -> np.ndarray:
    """Member ``index`` of the archive (by position: a name may appear twice)."""
    where = f"{path}: member {show(member)}"
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if index >= len(infos) or infos[index].filename != member:
                raise ValueError(f"{where}: the archive changed since it was listed")
            with zf.open(infos[index]) as f:
                if read_npy_header(f) != header:
                    raise ValueError(f"{where}: its header changed since it was listed")
                return _read_member(f, *header)
    except ValueError as err:
        raise ValueError(str(err) if str(err).startswith(str(path)) else f"{where}: {err}") \
            from None
    except ZIP_ERRORS as err:
        raise ValueError(f"{where}: cannot be read ({type(err).__name__}: "
                         f"{clip(str(err))})") from None


def _member_spec(path, zf, index: int, info: zipfile.ZipInfo) -> WeightSpec | None:
    key, where = info.filename[:-4], f"{path}: member {show(info.filename)}"
    try:
        with zf.open(info) as f:
            header = read_npy_header(f)
            offset = f.tell()
    except ZIP_ERRORS as err:           # ValueError from read_npy_header included
        msg = str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}"
        return refused(key, "tensor", (), "", str(path),
                       error=f"{where}: cannot be read ({clip(msg)})")
    shape, _, dtype = header
    error = _check_length(shape, dtype, info.file_size - offset)
    load = partial(_load_npz_member, path, index, info.filename, header)
    return _spec(key, shape, dtype, str(path), load, f"{where}: {error}" if error else "")


def npz_specs(path) -> list[WeightSpec]:
    """One spec per ``*.npy`` member (named without ``.npy``), in archive order."""
    out = []
    with zipfile.ZipFile(path) as zf:
        for index, info in enumerate(zf.infolist()):
            if info.is_dir() or not info.filename.endswith(".npy"):
                continue
            spec = _member_spec(path, zf, index, info)
            if spec is not None:
                out.append(spec)
    return out

"""Resolve a path (file or folder) into weight specs; numpy formats are read here.

Accepted: ``.safetensors`` files, ``.pt``/``.pth``/``.bin`` state dicts (needs torch),
``.npy`` (one matrix), ``.npz`` (several), a Hugging Face index
(``*.safetensors.index.json`` / ``*.bin.index.json``), or a folder holding one of those.
"""
from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from functools import partial
from pathlib import Path

import numpy as np

from ._safetensors import safetensors_specs
from ._spec import WeightSpec, depth_key, is_analysable, to_float

__all__ = ["FORMATS", "path_specs"]

FORMATS = (".safetensors, .pt/.pth/.bin (PyTorch state dict), .npy, .npz, "
           "*.safetensors.index.json / *.bin.index.json (sharded Hugging Face checkpoint), "
           "or a folder holding one of these")
_TORCH_SUFFIXES = (".pt", ".pth", ".bin")


def _bad(path, why: str) -> ValueError:
    return ValueError(f"{path}: {why}; accepted formats: {FORMATS}")


def _torch_specs(path):
    from ._torch import state_dict_file_specs

    return state_dict_file_specs(path)


def _load_npy(path) -> np.ndarray:
    return to_float(np.load(path, allow_pickle=False))


def _npy_specs(path) -> list[WeightSpec]:
    arr = np.load(path, mmap_mode="r", allow_pickle=False)   # reads the header only
    shape, dtype = tuple(int(s) for s in arr.shape), str(arr.dtype)
    if not is_analysable(shape, dtype, "tensor"):
        return []
    return [WeightSpec(Path(path).stem, "tensor", shape, dtype, partial(_load_npy, path),
                       str(path))]


def _load_npz_member(path, key: str) -> np.ndarray:
    with np.load(path, allow_pickle=False) as z:
        return to_float(z[key])


def _npz_specs(path) -> list[WeightSpec]:
    out = []
    with zipfile.ZipFile(path) as zf:
        for member in zf.namelist():
            if not member.endswith(".npy"):
                continue
            with zf.open(member) as f:
                version = np.lib.format.read_magic(f)
                read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                        else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read(f)
            key = member[:-4]
            if is_analysable(shape, str(dtype), "tensor"):
                out.append(WeightSpec(key, "tensor", tuple(int(s) for s in shape), str(dtype),
                                      partial(_load_npz_member, path, key), str(path)))
    return out


def _index_specs(path: Path) -> list[WeightSpec]:
    try:
        weight_map = json.loads(path.read_text())["weight_map"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise _bad(path, f"not a Hugging Face index JSON with a 'weight_map' ({err!r})") from None
    if not isinstance(weight_map, Mapping):
        raise _bad(path, "'weight_map' is not a JSON object")
    shards: dict[str, list[str]] = {}
    for name, shard in weight_map.items():
        shards.setdefault(shard, []).append(name)
    by_name: dict[str, WeightSpec] = {}
    for shard, names in shards.items():
        spath = path.parent / shard
        if not spath.is_file():
            raise _bad(path, f"shard {shard!r} listed in the index is missing")
        if spath.suffix == ".safetensors":
            specs = safetensors_specs(spath, names)
        else:                      # .bin shards: torch loads (memory-maps) one shard at a time
            specs = [s for s in _torch_specs(spath) if s.name in set(names)]
        by_name.update((s.name, s) for s in specs)
    # index files are alphabetical (layer.10 before layer.2): list them by depth
    return [by_name[n] for n in sorted(weight_map, key=depth_key) if n in by_name]


def _folder_specs(path: Path) -> list[WeightSpec]:
    for pattern in ("*.safetensors.index.json", "*.bin.index.json"):
        found = sorted(path.glob(pattern))
        if found:
            return _index_specs(found[0])
    for patterns in (("*.safetensors",), ("*.bin", "*.pt", "*.pth"),
                     ("*.npz", "*.npy")):
        files = sorted(f for p in patterns for f in path.glob(p))
        if files:
            return [s for f in files for s in path_specs(f)]
    raise _bad(path, "the folder holds no model file")


def path_specs(path) -> list[WeightSpec]:
    """Specs of every analysable tensor under ``path`` (a file or a folder)."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: no such file or folder; accepted formats: {FORMATS}")
    if path.is_dir():
        return _folder_specs(path)
    try:
        return _file_specs(path)
    except (OSError, zipfile.BadZipFile) as err:
        raise _bad(path, f"cannot be read ({type(err).__name__}: {err})") from None
    except ValueError as err:
        msg = str(err)
        if "accepted formats" in msg:
            raise
        if msg.startswith(str(path)):
            raise ValueError(f"{msg}; accepted formats: {FORMATS}") from None
        raise _bad(path, f"cannot be read ({msg})") from None


def _file_specs(path: Path) -> list[WeightSpec]:
    name, suffix = path.name.lower(), path.suffix.lower()
    if name.endswith(".index.json"):
        return _index_specs(path)
    if suffix == ".safetensors":
        return safetensors_specs(path)
    if suffix == ".npy":
        return _npy_specs(path)
    if suffix == ".npz":
        return _npz_specs(path)
    if suffix in _TORCH_SUFFIXES:
        return _torch_specs(path)
    raise _bad(path, f"unknown file type {suffix or '(no suffix)'!r}")

"""Resolve a path (file or folder) into weight specs.

Accepted: ``.safetensors`` files, ``.pt``/``.pth``/``.bin`` state dicts (needs torch),
``.npy`` (one matrix), ``.npz`` (several), a Hugging Face index
(``*.safetensors.index.json`` / ``*.bin.index.json``), a PEFT LoRA adapter
(``adapter_model.safetensors``/``.bin`` beside ``adapter_config.json``, see ``_lora``), or a
folder holding one of those (an adapter first).

A file that cannot be read raises ``ValueError`` naming it and what went wrong (missing,
a symbolic-link loop, permission denied, not a regular file, a header that cannot be
parsed); an index naming a shard outside its folder is refused (docs/security.md).
"""
from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path, PurePath

from ._lora import ADAPTER_FILES, lora_specs
from ._npy import ZIP_ERRORS, npy_specs, npz_specs
from ._safetensors import safetensors_specs
from ._spec import WeightSpec, clip, depth_key, show

__all__ = ["FORMATS", "path_specs", "sniff"]

FORMATS = (".safetensors, .pt/.pth/.bin (PyTorch state dict), .npy, .npz, "
           "*.safetensors.index.json / *.bin.index.json (sharded Hugging Face checkpoint), "
           "a LoRA adapter (adapter_model.safetensors + adapter_config.json), "
           "or a folder holding one of these")
_TORCH_SUFFIXES = (".pt", ".pth", ".bin")
_MAX_INDEX = 100 * 1024 * 1024      # bytes of an index JSON (real ones are < 1 MB)


def _bad(path, why: str) -> ValueError:
    return ValueError(f"{path}: {why}; accepted formats: {FORMATS}")


def _os_problem(path, err: OSError) -> str:
    """Plain words for an OSError met on ``path``."""
    if err.errno == errno.ELOOP:
        return "is a symbolic link loop"
    if isinstance(err, FileNotFoundError):
        if os.path.islink(path):
            return f"is a broken symbolic link (to {show(os.readlink(path))}, which is missing)"
        return "is missing"
    if isinstance(err, PermissionError):
        return "cannot be read: permission denied"
    return f"cannot be read ({type(err).__name__}: {err.strerror or err})"


def _stat(path) -> os.stat_result:
    """``os.stat(path)``; ValueError in plain words when it fails."""
    try:
        return os.stat(path)
    except ValueError:                      # "embedded null byte"
        raise _bad(path, "a path with a NUL byte names no file") from None
    except OSError as err:
        problem = _os_problem(path, err)
        problem = "no such file or folder" if problem == "is missing" else problem
        raise _bad(path, problem) from None


def sniff(path) -> str:
    """What the first bytes of a file say it is ("" when they say nothing known)."""
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(b"\x93NUMPY"):
        return "a .npy array"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "a zip archive (an .npz, or a PyTorch checkpoint)"
    if len(head) >= 10 and head[8:10] in (b'{"', b"{ ", b"{}"):
        return "a safetensors file"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "a Python pickle (never loaded: htmp reads tensors only)"
    return ""


def _torch_specs(path):
    from ._torch import state_dict_file_specs

    return state_dict_file_specs(path)


def _npy_file_specs(path: Path) -> list[WeightSpec]:
    what = sniff(path)
    if what != "a .npy array":
        hint = " (rename it to .safetensors)" if what == "a safetensors file" else ""
        raise _bad(path, f"not a .npy array: its first bytes are those of "
                         f"{what or 'no known format'}{hint}")
    return npy_specs(path)


def _load_index(path: Path) -> Mapping:
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > _MAX_INDEX:
            raise _bad(path, f"an index JSON larger than {_MAX_INDEX} bytes")
        raw = f.read(size + 1)       # read(n) reserves n bytes: never more than the file
    try:
        weight_map = json.loads(raw)["weight_map"]
    except RecursionError:
        raise _bad(path, "not a Hugging Face index JSON (nested too deeply)") from None
    except (ValueError, KeyError, TypeError, IndexError) as err:
        raise _bad(path, f"not a Hugging Face index JSON with a 'weight_map' "
                         f"({type(err).__name__}: {clip(str(err))})") from None
    if not isinstance(weight_map, Mapping):
        raise _bad(path, "'weight_map' is not a JSON object")
    return weight_map


def _shard_path(path: Path, name: str, shard) -> Path:
    """The shard file ``shard`` of index ``path``, checked to lie inside the index's folder.

    The name must be relative without ``..``; the folders on its way, symbolic links
    resolved, must stay inside the index's (resolved) folder.  The shard file itself may
    be a symbolic link, as in the Hugging Face cache (``snapshots/<rev>/x.safetensors``
    -> ``../../blobs/<sha>``): a link placed in the folder is trusted like the folder.
    """
    where = f"weight_map[{show(name)}]"
    if not isinstance(shard, str) or not shard:
        raise _bad(path, f"{where} must be a shard file name (a non-empty string), "
                         f"got {show(shard)}")
    parts = PurePath(shard).parts
    if "\x00" in shard or os.path.isabs(shard) or PurePath(shard).drive or ".." in parts \
            or "\\" in shard:
        raise _bad(path, f"{where}: shard {show(shard)} is not a file inside the index's "
                         f"folder (absolute paths and '..' are refused)")
    if not shard.endswith((".safetensors",) + _TORCH_SUFFIXES):
        raise _bad(path, f"{where}: shard {show(shard)} must be a .safetensors or "
                         f".bin/.pt/.pth file")
    folder = os.path.realpath(path.parent)
    spath = path.parent / shard
    inside = os.path.realpath(spath.parent)
    if os.path.commonpath([folder, inside]) != folder:
        raise _bad(path, f"{where}: shard {show(shard)} leads outside the index's folder "
                         f"(through a symbolic link to {show(inside)})")
    try:
        st = os.stat(spath)
    except OSError as err:
        raise _bad(path, f"shard {show(shard)} listed in the index "
                         f"{_os_problem(spath, err)}") from None
    if not stat.S_ISREG(st.st_mode):
        raise _bad(path, f"shard {show(shard)} listed in the index is not a regular file")
    return spath


def _index_specs(path: Path) -> list[WeightSpec]:
    weight_map = _load_index(path)
    shards: dict[str, list[str]] = {}
    paths: dict[str, Path] = {}
    for name, shard in weight_map.items():      # every shard checked before any is read
        if not (isinstance(shard, str) and shard in paths):
            paths[shard] = _shard_path(path, name, shard)
        shards.setdefault(shard, []).append(name)
    by_name: dict[str, WeightSpec] = {}
    for shard, names in shards.items():
        spath = paths[shard]
        try:
            if spath.suffix == ".safetensors":
                specs = safetensors_specs(spath, names)
            else:                  # .bin shards: torch loads (memory-maps) one shard at a time
                wanted = set(names)
                specs = [s for s in _torch_specs(spath) if s.name in wanted]
        except OSError as err:
            raise _bad(path, f"shard {show(shard)} {_os_problem(spath, err)}") from None
        except ValueError as err:
            raise ValueError(f"{path}: shard {show(shard)}: {err}") from None
        by_name.update((s.name, s) for s in specs)
    # index files are alphabetical (layer.10 before layer.2): list them by depth
    return [by_name[n] for n in sorted(weight_map, key=depth_key) if n in by_name]


def _folder_specs(path: Path) -> list[WeightSpec]:
    try:
        entries = sorted(os.listdir(path))
    except OSError as err:
        raise _bad(path, f"the folder {_os_problem(path, err)}") from None

    def matching(*suffixes):
        return [path / e for e in entries if e.endswith(suffixes)]

    adapter = [path / e for e in ADAPTER_FILES if e in entries and (path / e).is_file()]
    if adapter:                     # a PEFT adapter folder: one row per adapted module
        return path_specs(adapter[0])

    for suffix in (".safetensors.index.json", ".bin.index.json"):
        found = matching(suffix)
        if found:
            return path_specs(found[0])
    for suffixes in ((".safetensors",), _TORCH_SUFFIXES, (".npz", ".npy")):
        files = [f for f in matching(*suffixes) if not f.is_dir()]
        if files:
            return [s for f in files for s in path_specs(f)]
    raise _bad(path, "the folder holds no model file")


def path_specs(path) -> list[WeightSpec]:
    """Specs of every analysable tensor under ``path`` (a file or a folder)."""
    path = Path(path)
    st = _stat(path)
    if stat.S_ISDIR(st.st_mode):
        return _folder_specs(path)
    if not stat.S_ISREG(st.st_mode):
        raise _bad(path, "not a regular file (a device, pipe or socket is never read)")
    try:
        return _file_specs(path)
    except OSError as err:
        raise _bad(path, _os_problem(path, err)) from None
    except ZIP_ERRORS as err:
        if not isinstance(err, ValueError):
            raise _bad(path, f"cannot be read ({type(err).__name__}: "
                             f"{clip(str(err))})") from None
        msg = str(err)
        if "accepted formats" in msg:
            raise
        if msg.startswith(str(path)):
            raise ValueError(f"{msg}; accepted formats: {FORMATS}") from None
        raise _bad(path, f"cannot be read ({clip(msg)})") from None


def _file_specs(path: Path) -> list[WeightSpec]:
    name, suffix = path.name.lower(), path.suffix.lower()
    if path.name in ADAPTER_FILES:
        return lora_specs(path)
    if name.endswith(".index.json"):
        return _index_specs(path)
    if suffix == ".safetensors":
        try:
            return safetensors_specs(path)
        except ValueError as err:
            what = sniff(path)
            if "not a safetensors file" in str(err) and what not in ("", "a safetensors file"):
                raise ValueError(f"{err} (its first bytes are those of {what})") from None
            raise
    if suffix == ".npy":
        return _npy_file_specs(path)
    if suffix == ".npz":
        return npz_specs(path)
    if suffix in _TORCH_SUFFIXES:
        return _torch_specs(path)
    raise _bad(path, f"unknown file type {suffix or '(no suffix)'!r}")

"""LoRA / PEFT adapters: one row per adapted module, for its update dW, never A and B alone.

A PEFT save is a folder holding ``adapter_model.safetensors`` (or ``adapter_model.bin``)
and ``adapter_config.json``.  Keys are ``base_model.model.<module>.lora_A.weight`` (r x in)
and ``...lora_B.weight`` (out x r); older saves insert the adapter's name
(``.lora_A.default.weight``); embeddings have ``lora_embedding_A`` (r x vocab) and
``lora_embedding_B`` (dim x r); Conv2d adapters have 4-D A (r x in x kh x kw) and B
(out x r x 1 x 1).  Each module gives one spec named ``<module>.weight`` - the base
model's name for the weight it updates - whose ``load()`` returns

    dW = scale * B A,   scale = lora_alpha / r   (rsLoRA, ``use_rslora``: lora_alpha / sqrt r)

in the base weight's layout (an embedding's dW is (B A)^T; ``fan_in_fan_out`` - GPT-2's
Conv1D - transposes it).  ``rank_pattern`` / ``alpha_pattern`` override r / lora_alpha per
module (a key matches a module name that ends with it as a regex, PEFT's rule).  dW has
rank <= r: N - r of its eigenvalues are zero (the table's ``rank`` and ``n_zero``).
With a base model (:func:`lora_specs` ``base=``), each row is W + dW instead.  Other
tensors in the file (``modules_to_save``: whole replaced weights) are rows of their own.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np

from ._delta import pair_specs
from ._safetensors import safetensors_specs
from ._spec import WeightSpec, clip, refused, show

__all__ = ["ADAPTER_FILES", "CONFIG_FILE", "find_adapter", "lora_specs"]

ADAPTER_FILES = ("adapter_model.safetensors", "adapter_model.bin")
CONFIG_FILE = "adapter_config.json"
_PARTS = {"lora_A": ("A", False), "lora_B": ("B", False),
          "lora_embedding_A": ("A", True), "lora_embedding_B": ("B", True)}
_PREFIX = "base_model.model."


def find_adapter(path) -> Path | None:
    """The adapter weights file of a PEFT folder, or ``path`` itself when it is one
    (``adapter_model.safetensors`` / ``.bin``); None otherwise."""
    p = Path(path)
    if p.is_dir():
        return next((p / f for f in ADAPTER_FILES if (p / f).is_file()), None)
    return p if p.name in ADAPTER_FILES else None


def _read_config(weights: Path) -> dict:
    path = weights.parent / CONFIG_FILE
    try:
        with open(path, "rb") as f:
            cfg = json.loads(f.read(1024 * 1024 + 1))
    except FileNotFoundError:
        raise ValueError(f"{weights}: a LoRA adapter needs {CONFIG_FILE} beside it (its r and "
                         f"lora_alpha scale B A); none found in {weights.parent}") from None
    except (OSError, ValueError, RecursionError) as err:
        raise ValueError(f"{path}: not a readable adapter config JSON "
                         f"({type(err).__name__}: {clip(str(err))})") from None
    if not isinstance(cfg, dict):
        raise ValueError(f"{path}: adapter config must be a JSON object, got "
                         f"{type(cfg).__name__}")
    for key in ("r", "lora_alpha"):
        v = cfg.get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise ValueError(f"{path}: {key} must be a number > 0, got {show(v)}")
    for key in ("rank_pattern", "alpha_pattern"):
        if not isinstance(cfg.get(key) or {}, dict):
            raise ValueError(f"{path}: {key} must be a JSON object (module -> value), got "
                             f"{show(cfg.get(key))}")
    _check_patterns(path, cfg)
    return cfg


def _pattern_value(patterns: dict, module: str, default):
    """PEFT's per-module override: the first key that is the module name or its end (after a
    dot).  Keys are matched as plain names, never run as regular expressions: the config
    comes with the model file (:func:`_check_patterns` refuses keys that only a regular
    expression could match)."""
    for key, value in (patterns or {}).items():
        if module == key or module.endswith("." + key):
            return value
    return default


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.\-]+")


def _check_patterns(path, cfg: dict) -> None:
    """A rank/alpha pattern key must be a plain module name (letters, digits, ``_ . -``):
    PEFT reads other keys as regular expressions, which htmp does not run from a file it did
    not write (a crafted pattern can take exponential time)."""
    for field in ("rank_pattern", "alpha_pattern"):
        for key in (cfg.get(field) or {}):
            if not isinstance(key, str) or not _PLAIN_KEY.fullmatch(key):
                raise ValueError(f"{path}: {field} key {show(key)} is a regular expression or "
                                 f"not a module name; htmp matches plain module names (or "
                                 f"their ends) only and does not run regular expressions from "
                                 f"a model file")


def _parse_key(name: str):
    """(module, "A"/"B", is_embedding, adapter name) of a LoRA key, or None."""
    tokens = name.removeprefix(_PREFIX).split(".")
    i = next((k for k, t in enumerate(tokens) if t in _PARTS), None)
    if i is None or i == 0:
        return None
    rest = tokens[i + 1:]
    if rest and rest[-1] == "weight":
        rest = rest[:-1]
    if len(rest) > 1:
        return None
    side, emb = _PARTS[tokens[i]]
    return ".".join(tokens[:i]), side, emb, (rest[0] if rest else "")


def _plain_name(name: str) -> str:
    """A non-LoRA tensor's name in the base model (``modules_to_save.<adapter>`` dropped)."""
    tokens = name.removeprefix(_PREFIX).split(".")
    if "modules_to_save" in tokens:
        i = tokens.index("modules_to_save")
        tokens = tokens[:i] + tokens[i + 2:]
    return ".".join(tokens)


def _update(a: WeightSpec, b: WeightSpec, scale: float, emb: bool, transpose: bool):
    """scale * B A in the base weight's layout."""
    A, B = a.load(), b.load()
    dtype = np.result_type(A.dtype, B.dtype, np.float32)
    if A.ndim == 4:                                  # Conv2d: B (out, r, 1, 1) A (r, in, kh, kw)
        dw = B.reshape(B.shape[0], -1).astype(dtype) @ A.reshape(A.shape[0], -1).astype(dtype)
        return (dw * dtype.type(scale)).reshape((B.shape[0],) + A.shape[1:])
    dw = B.astype(dtype, copy=False) @ A.astype(dtype, copy=False)
    dw *= dtype.type(scale)
    return dw.T if emb or transpose else dw


def _merged(lora: WeightSpec, base: WeightSpec) -> np.ndarray:
    dw = lora.load()
    w = base.load()
    return np.add(w, dw, dtype=np.result_type(w.dtype, dw.dtype))


def _pair_spec(module, parts, cfg, source) -> WeightSpec:
    name = f"{module}.weight"
    a, b = parts.get("A"), parts.get("B")
    emb = parts["emb"]
    if a is None or b is None:
        have, lack = ("A", "B") if b is None else ("B", "A")
        return refused(name, "lora", (), "", source,
                       error=f"{source}: LoRA module {show(module)} has lora_{have} but no "
                             f"lora_{lack}")
    for s in (a, b):
        if s.skip or s.error:
            return refused(name, "lora", (), s.dtype, source, skip=s.skip, error=s.error)
    sa, sb = tuple(a.shape), tuple(b.shape)
    r = sa[0]
    if emb:
        shape, fits = (sa[1], sb[0]), len(sa) == len(sb) == 2 and sb[1] == r
    elif len(sa) == 4:
        shape = (sb[0],) + sa[1:]
        fits = len(sb) == 4 and sb[1] == r and sb[2:] == (1, 1)
    else:
        shape, fits = (sb[0], sa[1]), len(sa) == len(sb) == 2 and sb[1] == r
    transpose = bool(cfg.get("fan_in_fan_out")) and not emb and len(sa) == 2
    shape = shape[::-1] if transpose else shape
    if not fits:
        return refused(name, "lora", shape, a.dtype, source,
                       error=f"{source}: LoRA module {show(module)}: lora_A {sa} and "
                             f"lora_B {sb} do not multiply (B A)")
    r_cfg = _pattern_value(cfg.get("rank_pattern"), module, cfg["r"])
    if r_cfg != r:
        return refused(name, "lora", shape, a.dtype, source,
                       error=f"{source}: LoRA module {show(module)}: lora_A has r={r} rows "
                             f"but {CONFIG_FILE} gives r={show(r_cfg)}")
    alpha = _pattern_value(cfg.get("alpha_pattern"), module, cfg["lora_alpha"])
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
        return refused(name, "lora", shape, a.dtype, source,
                       error=f"{source}: lora_alpha of {show(module)} must be a number, got "
                             f"{show(alpha)}")
    scale = alpha / math.sqrt(r) if cfg.get("use_rslora") else alpha / r
    if cfg.get("use_dora"):
        return refused(name, "lora", shape, a.dtype, source,
                       skip="a DoRA adapter (use_dora): its weight is rescaled by a "
                            "magnitude vector, not W + dW; not analysed")
    return WeightSpec(name, "lora", shape, a.dtype,
                      partial(_update, a, b, scale, emb, transpose), source)


def _piece_specs(weights: Path) -> list[WeightSpec]:
    if weights.suffix == ".safetensors":
        return safetensors_specs(weights)
    from ._torch import state_dict_file_specs

    return state_dict_file_specs(weights)


def lora_specs(weights, base: list[WeightSpec] | None = None) -> list[WeightSpec]:
    """One spec per adapted module (``dW``, kind "lora"; with ``base`` specs, ``W + dW``,
    kind "lora_merged"), in the file's depth order; other tensors of the file as they are."""
    weights = Path(weights)
    cfg = _read_config(weights)
    source = str(weights)
    modules: dict[str, dict] = {}
    plain = []
    for s in _piece_specs(weights):
        key = _parse_key(s.name)
        if key is None:
            plain.append(replace(s, name=_plain_name(s.name)))
            continue
        module, side, emb, adapter = key
        label = module if not adapter else f"{module}@{adapter}"
        entry = modules.setdefault(label, {"emb": emb, "module": module})
        entry[side] = s
    rows = [_pair_spec(e["module"], e, cfg, source) for e in modules.values()]
    if base is not None:
        rows = pair_specs(rows, base, _merged, kind="lora_merged", what="W + dW",
                          base_only=False)
    return rows + plain

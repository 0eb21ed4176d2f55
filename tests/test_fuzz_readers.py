"""Property-based fuzzing of the file readers with random and adversarial bytes.

Properties, for every generated file: listing it (``weight_specs``) and reading each
listed weight either succeeds or raises ``ValueError`` naming the file (never another
exception type, never a traceback from numpy/zipfile/json); names are unique; no file
outside the model's folder is opened (an audit hook records every ``open``); memory stays
bounded (tracemalloc) whatever size a header declares; each example ends within its
deadline (no hang).  Small examples keep the whole file to a few seconds.
"""
import io
import json
import math
import os
import struct
import sys
import tempfile
import tracemalloc
import warnings
import zipfile
from datetime import timedelta
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import htmp
import htmp.nn as hnn

FAST = settings(max_examples=150, deadline=timedelta(seconds=5),
                suppress_health_check=[HealthCheck.too_slow])
LIMIT = 4096                        # max_elements in the fuzz: a bounded read is small
MEMORY = 8_000_000                  # bytes traced at most while listing + reading a file

# --- an audit hook: which files does a reader open? ---------------------------------------
_OPENED: list | None = None


def _audit(event, args):
    if _OPENED is not None and event == "open" and isinstance(args[0], (str, bytes, Path)):
        _OPENED.append(os.path.realpath(os.fsdecode(args[0])))


sys.addaudithook(_audit)
_CODE = tuple({sys.prefix, sys.base_prefix, os.path.dirname(htmp.__file__)})


def _read_everything(source, where: Path):
    """List and load every weight of ``source``; check the properties above."""
    global _OPENED
    _OPENED = []
    tracemalloc.start()
    try:
        try:
            specs = hnn.weight_specs(source, max_elements=LIMIT)
        except ValueError as err:
            assert str(source) in str(err), err
            specs = []
        assert len({s.name for s in specs}) == len(specs)
        for s in specs:
            assert isinstance(s.shape, tuple) and all(isinstance(d, int) for d in s.shape)
            if s.skip:
                continue
            try:
                arr = s.load()
            except ValueError as err:
                assert str(source) in str(err) or (s.error and str(err) == s.error), err
                continue
            assert not s.error and arr.shape == s.shape and arr.size <= LIMIT
            assert arr.dtype in (np.float32, np.float64)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        opened, _OPENED = _OPENED, None
    assert peak < MEMORY, peak
    root = os.path.realpath(where)
    outside = [p for p in opened if os.path.commonpath([root, p]) != root
               and not p.startswith(_CODE)]
    assert not outside, outside


# --- strategies -----------------------------------------------------------------------------
ADVERSE_INTS = st.one_of(st.integers(-3, 700), st.sampled_from(
    [-1, -2**63, 2**31, 2**32, 2**62, 2**63, 2**64, 10**20, 10**300]))
JUNK = st.recursive(st.none() | st.booleans() | st.integers(-10, 10) | st.floats()
                    | st.text(max_size=4),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c,
                                                                         max_size=3),
                    max_leaves=6)
DTYPES = st.sampled_from(["F32", "F16", "BF16", "F64", "I8", "U8", "BOOL", "I64", "F8_E4M3",
                          "C64", "F4", ""])
ENTRY = st.one_of(
    st.fixed_dictionaries({"dtype": DTYPES | JUNK,
                           "shape": st.lists(ADVERSE_INTS, max_size=5) | JUNK,
                           "data_offsets": st.lists(ADVERSE_INTS, max_size=3) | JUNK}),
    JUNK)
NAMES = st.text(alphabet="ab.01#", min_size=1, max_size=5)


@st.composite
def _plausible_entries(draw):
    """Mostly-valid headers: consecutive F32/BF16 ranges, then a few fields perturbed."""
    header, pos = {}, 0
    for name in draw(st.lists(NAMES, min_size=1, max_size=4, unique=True)):
        shape = draw(st.lists(st.integers(1, 6), min_size=1, max_size=4))
        code = draw(st.sampled_from(["F32", "BF16", "F16", "F64", "I8"]))
        size = math.prod(shape) * {"F32": 4, "BF16": 2, "F16": 2, "F64": 8, "I8": 1}[code]
        header[name] = {"dtype": code, "shape": shape, "data_offsets": [pos, pos + size]}
        pos += size
    for name in draw(st.lists(st.sampled_from(sorted(header)), max_size=2)):
        field = draw(st.sampled_from(["dtype", "shape", "data_offsets"]))
        header[name][field] = draw(JUNK | st.lists(ADVERSE_INTS, max_size=4))
    return header, pos


# --- safetensors ------------------------------------------------------------------------------

def _write_st(folder: Path, header, data: bytes) -> Path:
    raw = json.dumps(header).encode()
    p = folder / "m.safetensors"
    p.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return p


@FAST
@given(header=st.dictionaries(NAMES, ENTRY, max_size=6), meta=st.none() | JUNK,
       data=st.binary(max_size=600))
def test_fuzz_safetensors_headers(header, meta, data):
    if meta is not None:
        header["__metadata__"] = meta
    with tempfile.TemporaryDirectory() as d:
        _read_everything(_write_st(Path(d), header, data), Path(d))


@FAST
@given(case=_plausible_entries(), extra=st.integers(-40, 40), seed=st.integers(0, 2**32 - 1))
def test_fuzz_safetensors_nearly_valid(case, extra, seed):
    header, size = case
    data = np.random.default_rng(seed).bytes(max(0, size + extra))
    with tempfile.TemporaryDirectory() as d:
        _read_everything(_write_st(Path(d), header, data), Path(d))


@FAST
@given(raw=st.one_of(st.binary(max_size=300),
                     st.builds(lambda n, b: struct.pack("<Q", n) + b,
                               st.integers(0, 2**64 - 1) | st.integers(0, 300),
                               st.binary(max_size=300))))
def test_fuzz_safetensors_raw_bytes(raw):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "m.safetensors"
        p.write_bytes(raw)
        _read_everything(p, Path(d))


@settings(max_examples=25, deadline=timedelta(seconds=20))
@given(case=_plausible_entries(), extra=st.integers(-20, 20))
def test_fuzz_analyze_end_to_end(case, extra):
    """htmp.analyze on a fuzzed file: a table with unique names, or ValueError naming it."""
    header, size = case
    with tempfile.TemporaryDirectory() as d:
        p = _write_st(Path(d), header, bytes(range(256)) * (max(0, size + extra) // 256 + 1))
        try:
            df = htmp.analyze(p, fits="mp", min_evals=1)
        except ValueError as err:
            assert str(p) in str(err)
            return
        assert df["name"].is_unique
        assert set(df["status"]) <= {"ok", "partial", "failed", "skipped"}


# --- index ------------------------------------------------------------------------------------
SHARDS = st.one_of(
    st.sampled_from(["s1.safetensors", "missing.safetensors", "../out/o.safetensors",
                     "OUTSIDE", "/proc/self/environ", "sub/../s1.safetensors",
                     "link/o.safetensors", "loop.safetensors", "", ".", "..", "s1.safetensors/",
                     "s\x00.safetensors", "..\\out\\o.safetensors", "s1.bin",
                     "nested/x.safetensors", "model.safetensors.index.json", "fifo.safetensors"]),
    st.text(max_size=8), JUNK)


def _model_folder(root: Path) -> Path:
    out, model = root / "out", root / "model"
    out.mkdir()
    model.mkdir()
    (model / "nested").mkdir()
    rng = np.random.default_rng(0)
    arrays = {"w": rng.standard_normal((4, 6)).astype(np.float32)}
    for folder, name in ((out, "o.safetensors"), (model, "s1.safetensors")):
        raw = json.dumps({k: {"dtype": "F32", "shape": list(v.shape),
                              "data_offsets": [0, v.nbytes]} for k, v in arrays.items()})
        (folder / name).write_bytes(struct.pack("<Q", len(raw)) + raw.encode()
                                    + arrays["w"].tobytes())
    (model / "link").symlink_to(out, target_is_directory=True)
    (model / "loop.safetensors").symlink_to(model / "loop.safetensors")
    os.mkfifo(model / "fifo.safetensors")
    return model


@FAST
@given(weight_map=st.dictionaries(st.sampled_from(["w", "x", "a.b"]) | st.text(max_size=3),
                                  SHARDS, max_size=4),
       wrap=st.sampled_from(["ok", "list", "no-map", "junk"]))
def test_fuzz_index(weight_map, wrap):
    with tempfile.TemporaryDirectory() as d:
        model = _model_folder(Path(d))
        weight_map = {k: (str(Path(d) / "out" / "o.safetensors") if v == "OUTSIDE" else v)
                      for k, v in weight_map.items()}
        doc = {"ok": {"weight_map": weight_map}, "list": [weight_map],
               "no-map": {"metadata": weight_map}, "junk": weight_map}[wrap]
        idx = model / "model.safetensors.index.json"
        idx.write_text(json.dumps(doc))
        _read_everything(idx, model)
        _read_everything(model, model)


# --- .npy / .npz ------------------------------------------------------------------------------
DESCR = st.sampled_from(["'<f4'", "'<f8'", "'<f2'", "'>f4'", "'|O'", "'<i1'", "'<c16'",
                         "'|V8'", "[('a', '<f4')]", "('<f4', (1000000000,))", "5", "None"])
SHAPE_TEXT = st.one_of(
    st.lists(ADVERSE_INTS, max_size=4).map(lambda s: repr(tuple(s))),
    st.sampled_from(["(3, 'x')", "[2, 3]", "(True, 2)", "((1,),)", "(" * 150 + ")" * 150, "1"]))


@st.composite
def _npy_member(draw) -> bytes:
    """A .npy: its magic, then a header that may lie about anything, then some data."""
    header = (f"{{'descr': {draw(DESCR)}, 'fortran_order': "
              f"{draw(st.sampled_from(['False', 'True', '0']))}, 'shape': {draw(SHAPE_TEXT)}, }}")
    if draw(st.booleans()):
        header = draw(st.text(max_size=60))
    body = header.encode("latin1", "replace")
    version = draw(st.sampled_from([(1, 0), (2, 0), (3, 0), (9, 9)]))
    size = struct.pack("<H" if version == (1, 0) else "<I", min(len(body), 65535))
    return (b"\x93NUMPY" + bytes(version) + size + body
            + draw(st.binary(max_size=200)))


@FAST
@given(members=st.lists(st.tuples(st.sampled_from(["a.npy", "b.npy", "a.npy", "c.txt", "d/"]),
                                  _npy_member()), max_size=4),
       compressed=st.booleans())
def test_fuzz_npz_members(members, compressed):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "m.npz"
        with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED) \
                as zf, warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Duplicate name", UserWarning)    # on purpose
            for name, content in members:
                zf.writestr(name, content)
        _read_everything(p, Path(d))


@FAST
@given(member=_npy_member())
def test_fuzz_npy_file(member):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "m.npy"
        p.write_bytes(member)
        _read_everything(p, Path(d))


def _valid_npz(compressed: bool) -> bytes:
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(
        buf, a=rng.standard_normal((6, 8)).astype(np.float32), b=rng.standard_normal((5, 5)),
        c=np.ones(3))
    return buf.getvalue()


VALID_NPZ = {c: _valid_npz(c) for c in (False, True)}


@FAST
@given(compressed=st.booleans(),
       flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=6),
       cut=st.none() | st.integers(0, 10**6))
def test_fuzz_npz_corrupted_bytes(compressed, flips, cut):
    raw = bytearray(VALID_NPZ[compressed])
    for pos, xor in flips:
        raw[pos % len(raw)] ^= xor
    if cut is not None:
        raw = raw[:cut % (len(raw) + 1)]
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "m.npz"
        p.write_bytes(bytes(raw))
        _read_everything(p, Path(d))


@FAST
@given(shape=st.sampled_from([2, 4]).flatmap(
    lambda k: st.lists(st.integers(1, 10**12) | st.integers(1, 300), min_size=k, max_size=k)))
def test_fuzz_declared_sizes_never_allocate(shape):
    """A member declaring any size, backed by its full (zero) length only when small."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": tuple(shape)})
    n = math.prod(shape)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "m.npz"
        with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("w.npy", header.getvalue() + bytes(8 * n if n <= 10**5 else 64))
        _read_everything(p, Path(d))
        [spec] = hnn.weight_specs(p, max_elements=LIMIT)
        assert (bool(spec.skip), bool(spec.error)) == (LIMIT < n <= 10**5, n > 10**5)

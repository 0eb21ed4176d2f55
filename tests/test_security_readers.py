"""Hostile model files: each case of the reader audit gives a clear error or a per-layer row.

Item numbers are those of the hardening issue (an audit of 423 hostile inputs); every test
here failed before its fix (shard paths, header offsets, element limit, malformed entries,
OS errors, corrupt ``.npz`` members, colliding names, unsupported dtypes, file sniffing).
"""
import io
import json
import math
import os
import struct
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

import htmp
import htmp.nn as hnn
from htmp.nn import _safetensors

torch = pytest.importorskip("torch")
st_torch = pytest.importorskip("safetensors.torch")

RNG = np.random.default_rng(0)
A = RNG.standard_normal((20, 30)).astype(np.float32)
B = RNG.standard_normal((20, 30)).astype(np.float32) * 3


def _st(path, header, data=b""):
    """A safetensors file from a header dict as given (no validation) and raw data bytes."""
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


def _good_st(path, **arrays):
    st_torch.save_file({k: torch.from_numpy(v) for k, v in arrays.items()}, path)
    return path


def _rows(df):
    return dict(zip(df["name"], zip(df["status"], df["message"])))


# --- item 1: index shards must stay inside the index's folder -----------------------------

def _index(folder, weight_map):
    p = folder / "model.safetensors.index.json"
    p.write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return p


@pytest.mark.parametrize("shard", ["../outside/other.safetensors", "ABS",
                                   "/proc/self/environ", "../../../../etc/passwd",
                                   "sub/../../outside/other.safetensors"])
def test_index_shard_outside_the_folder_is_refused(tmp_path, shard):
    (tmp_path / "outside").mkdir()
    other = _good_st(tmp_path / "outside" / "other.safetensors", w=A)
    model = tmp_path / "model"
    model.mkdir()
    shard = str(other) if shard == "ABS" else shard
    idx = _index(model, {"w": shard})
    for source in (idx, model):
        with pytest.raises(ValueError, match=r"weight_map\['w'\]: shard .* (is not a file "
                                             r"inside the index's folder|leads outside)") as e:
            htmp.analyze(source)
        assert str(idx) in str(e.value) and repr(shard)[:40] in str(e.value)


def test_index_shard_through_a_symlinked_folder_is_refused(tmp_path):
    (tmp_path / "outside").mkdir()
    _good_st(tmp_path / "outside" / "other.safetensors", w=A)
    model = tmp_path / "model"
    model.mkdir()
    (model / "sub").symlink_to(tmp_path / "outside", target_is_directory=True)
    idx = _index(model, {"w": "sub/other.safetensors"})
    with pytest.raises(ValueError, match="leads outside the index's folder"):
        hnn.weight_specs(idx)


def test_hugging_face_cache_layout_still_reads(tmp_path):
    """snapshots/<rev>/ holds symbolic links to ../../blobs/<sha>: the links are trusted."""
    blobs, snap = tmp_path / "blobs", tmp_path / "snapshots" / "abc"
    blobs.mkdir()
    snap.mkdir(parents=True)
    _good_st(blobs / "sha1", w=A)
    (blobs / "sha2").write_text(json.dumps({"weight_map": {"w": "model-1.safetensors"}}))
    (snap / "model-1.safetensors").symlink_to("../../blobs/sha1")
    (snap / "model.safetensors.index.json").symlink_to("../../blobs/sha2")
    [w] = hnn.iter_weights(snap)
    np.testing.assert_array_equal(w.array, A)


# --- items 4 and 9: data_offsets and shapes are checked before any read --------------------

def test_negative_and_out_of_range_offsets_fail_alone(tmp_path):
    data = A.tobytes() + bytes(16)
    n = len(data)
    p = _st(tmp_path / "m.safetensors", {
        "good": {"dtype": "F32", "shape": [20, 30], "data_offsets": [0, 2400]},
        "neg": {"dtype": "F32", "shape": [4, 4], "data_offsets": [-64, 0]},      # the header
        "span": {"dtype": "F32", "shape": [20, 30], "data_offsets": [2400, 2416]},
        "past": {"dtype": "F32", "shape": [20, 30], "data_offsets": [2416, 4816]},
    }, data)
    rows = _rows(htmp.analyze(p, fits="mp", min_evals=1))
    assert rows["good"][0] == "ok"
    for name, why in [("neg", "data_offsets must be [begin, end] with 0 <= begin <= end <= "
                              f"{n} (the data size), got [-64, 0]"),
                      ("past", "truncated tensor data (0 of 600 values): data_offsets end "
                               f"at 4816, the data at {n}"),
                      ("span", "data_offsets span 16 bytes but shape (20, 30) of F32 "
                               "needs 2400")]:
        status, message = rows[name]
        assert status == "failed" and why in message and f"tensor '{name}'" in message
        assert str(p) in message


def test_overlapping_tensors_refuse_the_file(tmp_path):
    data = A.tobytes()
    p = _st(tmp_path / "m.safetensors", {
        "a": {"dtype": "F32", "shape": [20, 30], "data_offsets": [0, 2400]},
        "b": {"dtype": "F32", "shape": [10, 30], "data_offsets": [1200, 2400]}}, data)
    with pytest.raises(ValueError, match=r"tensors 'a' \[0, 2400\) and 'b' \[1200, 2400\) "
                                         r"overlap") as e:
        hnn.weight_specs(p)
    assert str(p) in str(e.value)


@pytest.mark.parametrize("shape", [[10**20, 2], [2**32, 2**32, 1, 1], [2**62, 4]])
def test_absurd_shapes_give_a_row_not_a_crash(tmp_path, shape):
    # 2**32 * 2**32 wraps to 0 in int64: np.prod saw 0 bytes needed for [0, 0]
    p = _st(tmp_path / "m.safetensors", {
        "huge": {"dtype": "F32", "shape": shape, "data_offsets": [0, 0]},
        "good": {"dtype": "F32", "shape": [20, 30], "data_offsets": [0, 2400]}}, A.tobytes())
    df = htmp.analyze(p, fits="mp")
    rows = _rows(df)
    assert rows["good"][0] == "ok"
    status, message = rows["huge"]
    assert status == "failed" and f"needs {math.prod(shape) * 4}" in message
    row = df[df["name"] == "huge"].iloc[0]
    assert row["shape"] == "x".join(map(str, shape)) and row["N"] is pd_na()


def pd_na():
    import pandas as pd
    return pd.NA


# --- item 5: a declared size over max_elements is never read ------------------------------

def _zip_one_member(path, name, payload_head, n_zero_bytes, chunk=8_000_000):
    """A zip holding one deflated member: ``payload_head`` then ``n_zero_bytes`` zeros,
    written from one compressed block of zeros repeated (cheap: 1 GB of zeros costs 1 MB)."""
    assert n_zero_bytes % chunk == 0
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = co.compress(payload_head) + co.flush(zlib.Z_FULL_FLUSH)
    block = co.compress(bytes(chunk)) + co.flush(zlib.Z_FULL_FLUSH)
    body = head + block * (n_zero_bytes // chunk) + b"\x03\x00"      # final empty block
    crc = zlib.crc32(payload_head)
    zeros = bytes(chunk)
    for _ in range(n_zero_bytes // chunk):
        crc = zlib.crc32(zeros, crc)
    usize, fname = len(payload_head) + n_zero_bytes, name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(body), usize,
                        len(fname), 0) + fname
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc,
                          len(body), usize, len(fname), 0, 0, 0, 0, 0, 0) + fname
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central),
                      len(local) + len(body), 0)
    path.write_bytes(local + body + central + end)
    return path


def _npy_header(shape, descr="<f4", fortran=False):
    f = io.BytesIO()
    np.lib.format.write_array_header_1_0(f, {"descr": descr, "fortran_order": fortran,
                                             "shape": tuple(shape)})
    return f.getvalue()


def test_npz_decompression_bomb_is_skipped_unread(tmp_path):
    """The issue's case: a 1 MB .npz declaring a (10, 25 000 000) float32 member (1 GB)."""
    p = _zip_one_member(tmp_path / "bomb.npz", "w.npy", _npy_header((10, 25_000_000)),
                        10 * 25_000_000 * 4)
    assert p.stat().st_size < 2_000_000
    with zipfile.ZipFile(p) as zf:       # a genuine archive: zipfile reads the member fine
        assert zf.infolist()[0].file_size == 128 + 10**9
    tracemalloc.start()
    try:
        df = htmp.analyze(p, max_evals=None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50e6, peak                       # the unfixed reader allocated 1 GB
    row = df.iloc[0]
    assert (row["name"], row["status"], row["shape"]) == ("w", "skipped", "10x25000000")
    assert row["message"].startswith(f"250000000 elements > max_elements={hnn.MAX_ELEMENTS} "
                                     f"(never read; raise the limit")


def test_element_limit_applies_to_every_format_and_can_be_raised(tmp_path, monkeypatch):
    np.save(tmp_path / "a.npy", A)
    np.savez(tmp_path / "a.npz", a=A)
    _good_st(tmp_path / "a.safetensors", a=A)
    for name in ("a.npy", "a.npz", "a.safetensors"):
        p = tmp_path / name
        [spec] = hnn.weight_specs(p, max_elements=599)
        assert spec.skip.startswith("600 elements > max_elements=599")
        with pytest.raises(ValueError, match="600 elements > max_elements=599"):
            spec.load()
        assert list(hnn.iter_weights(p, max_elements=599)) == []
        assert hnn.weight_specs(p, max_elements=600)[0].skip == ""
        assert hnn.weight_specs(p, max_elements=None)[0].skip == ""
        monkeypatch.setenv("HTMP_MAX_ELEMENTS", "599")
        row = htmp.analyze(p, fits="mp").iloc[0]        # analyze and the CLI read the env
        assert row["status"] == "skipped" and "max_elements=599" in row["message"]
        monkeypatch.setenv("HTMP_MAX_ELEMENTS", "none")
        assert htmp.analyze(p, fits="mp").iloc[0]["status"] == "ok"
        monkeypatch.delenv("HTMP_MAX_ELEMENTS")
    monkeypatch.setenv("HTMP_MAX_ELEMENTS", "lots")
    with pytest.raises(ValueError, match="environment variable HTMP_MAX_ELEMENTS must be a "
                                         "positive integer or None .no limit., got 'lots'"):
        hnn.weight_specs(tmp_path / "a.npy")
    with pytest.raises(ValueError, match="max_elements must be a positive integer or None"):
        hnn.weight_specs(tmp_path / "a.npy", max_elements=0)


# --- item 12: malformed header entries name file and field ---------------------------------

@pytest.mark.parametrize("entry,field", [
    ({"dtype": "F32", "shape": [20, 30]}, "data_offsets must be [begin, end]"),
    ({"dtype": "F32", "shape": 5, "data_offsets": [0, 2400]}, "shape must be a list of "
                                                               "non-negative integers, got 5"),
    ({"dtype": ["F32"], "shape": [20, 30], "data_offsets": [0, 2400]},
     "dtype must be a string such as 'F32', got ['F32']"),
    ({"dtype": "F32", "shape": [20, -30], "data_offsets": [0, 2400]}, "shape must be"),
    ({"dtype": "F32", "shape": [20, 30], "data_offsets": [0, True]}, "data_offsets must be"),
    ([1, 2, 3], "header entry must be a JSON object"),
])
def test_malformed_entries_fail_alone_naming_file_and_field(tmp_path, entry, field):
    p = _st(tmp_path / "m.safetensors", {
        "bad": entry, "good": {"dtype": "F32", "shape": [20, 30], "data_offsets": [0, 2400]}},
        A.tobytes())
    rows = _rows(htmp.analyze(p, fits="mp"))
    assert rows["good"][0] == "ok"
    status, message = rows["bad"]
    assert status == "failed" and f"{p}: tensor 'bad': {field}" in message


def test_deep_nesting_and_bad_index_entries_are_whole_file_errors(tmp_path):
    deep = "[" * 200_000 + "]" * 200_000
    p = tmp_path / "m.safetensors"
    p.write_bytes(struct.pack("<Q", len(deep)) + deep.encode())
    with pytest.raises(ValueError, match="not a safetensors file .JSON header nested too deeply"):
        hnn.weight_specs(p)
    idx = tmp_path / "model.safetensors.index.json"
    idx.write_text('{"weight_map": ' + deep + "}")
    with pytest.raises(ValueError, match="not a Hugging Face index JSON .nested too deeply") as e:
        hnn.weight_specs(idx)
    assert str(idx) in str(e.value)
    for shard, shown in [(5, "5"), (["a.safetensors"], r"\['a.safetensors'\]"), ("", "''")]:
        _index(tmp_path, {"w": shard})
        with pytest.raises(ValueError, match=rf"weight_map\['w'\] must be a shard file name "
                                             rf"\(a non-empty string\), got {shown}") as e:
            hnn.weight_specs(idx)
        assert str(idx) in str(e.value)
    _index(tmp_path, {"w": "x.json"})
    with pytest.raises(ValueError, match=r"shard 'x.json' must be a .safetensors or .bin"):
        hnn.weight_specs(idx)


def test_index_names_missing_from_the_shard_fail_alone(tmp_path):
    _good_st(tmp_path / "s1.safetensors", good=A)
    idx = _index(tmp_path, {"good": "s1.safetensors", "gone": "s1.safetensors"})
    rows = _rows(htmp.analyze(idx, fits="mp"))
    assert rows["good"][0] == "ok" and rows["gone"][0] == "failed"
    assert "tensor 'gone' is listed in the index but missing from the file header" in \
        rows["gone"][1]


# --- item 13: OS errors in plain words -----------------------------------------------------

def test_symlink_loop_broken_link_and_fifo(tmp_path):
    (tmp_path / "a.safetensors").symlink_to(tmp_path / "b.safetensors")
    (tmp_path / "b.safetensors").symlink_to(tmp_path / "a.safetensors")
    with pytest.raises(ValueError, match="a.safetensors: is a symbolic link loop"):
        hnn.weight_specs(tmp_path / "a.safetensors")
    (tmp_path / "c.npz").symlink_to(tmp_path / "nowhere.npz")
    with pytest.raises(ValueError, match="c.npz: is a broken symbolic link .to '.*nowhere.npz', "
                                         "which is missing"):
        hnn.weight_specs(tmp_path / "c.npz")
    with pytest.raises(ValueError, match="a path with a NUL byte names no file"):
        hnn.weight_specs(str(tmp_path / "a\x00.npy"))
    os.mkfifo(tmp_path / "f.npy")            # opening a pipe would block for ever
    with pytest.raises(ValueError, match="f.npy: not a regular file"):
        hnn.weight_specs(tmp_path / "f.npy")
    model = tmp_path / "model"
    model.mkdir()
    (model / "s.safetensors").symlink_to(model / "s.safetensors")
    idx = _index(model, {"w": "s.safetensors"})
    with pytest.raises(ValueError, match="shard 's.safetensors' listed in the index is a "
                                         "symbolic link loop"):
        hnn.weight_specs(idx)


def _deny(path):
    def fake(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))
    return fake


def test_permission_denied_on_a_folder_and_a_shard(tmp_path, monkeypatch):
    # tests may run as root, where chmod 000 denies nothing: the OS call is made to refuse
    _good_st(tmp_path / "s1.safetensors", w=A)
    idx = _index(tmp_path, {"w": "s1.safetensors"})
    real_open = open

    def guarded(path, *args, **kwargs):
        if os.fspath(path).endswith("s1.safetensors"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(_safetensors, "open", guarded, raising=False)
    with pytest.raises(ValueError, match="shard 's1.safetensors' cannot be read: permission "
                                         "denied") as e:
        hnn.weight_specs(tmp_path)
    assert str(idx) in str(e.value)
    with pytest.raises(ValueError, match="s1.safetensors: cannot be read: permission denied"):
        hnn.weight_specs(tmp_path / "s1.safetensors")
    monkeypatch.setattr(os, "listdir", _deny(tmp_path))
    with pytest.raises(ValueError, match="the folder cannot be read: permission denied"):
        hnn.weight_specs(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied_for_real(tmp_path):
    p = _good_st(tmp_path / "m.safetensors", w=A)
    p.chmod(0)
    try:
        with pytest.raises(ValueError, match="m.safetensors: cannot be read: permission denied"):
            hnn.weight_specs(p)
    finally:
        p.chmod(0o600)


# --- item 14: one corrupt .npz member fails alone ------------------------------------------

def test_corrupt_npz_members_fail_alone(tmp_path):
    p = tmp_path / "m.npz"
    big = RNG.standard_normal((100, 100)).astype(np.float32)
    with zipfile.ZipFile(p, "w") as zf:                  # stored, not compressed
        zf.writestr("a.npy", _npy_header((20, 30)) + A.tobytes())
        zf.writestr("b.npy", b"\x93NUMPY\x01\x00\x04\x00{'x'")      # header unreadable
        zf.writestr("c.npy", _npy_header((100, 100)) + big.tobytes())
        zf.writestr("d.npy", b"not an array at all")
    raw = bytearray(p.read_bytes())
    raw[raw.rindex(b"\x93NUMPY") + 30000] ^= 0xFF       # c: its data fails the CRC when read
    p.write_bytes(bytes(raw))
    rows = _rows(htmp.analyze(p, fits="mp"))
    assert rows["a"][0] == "ok"
    for name in "bd":
        assert rows[name][0] == "failed" and f"{p}: member '{name}.npy': cannot be read (not " \
            f"a readable .npy header" in rows[name][1]
    assert rows["c"] == ("failed", f"ValueError: {p}: member 'c.npy': cannot be read "
                                   f"(BadZipFile: Bad CRC-32 for file 'c.npy')")


def test_npz_member_shorter_than_its_header_says(tmp_path):
    p = tmp_path / "m.npz"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("short.npy", _npy_header((20, 30)) + b"\0" * 100)
        zf.writestr("big.npy", _npy_header((10**20, 2)) + b"\0" * 100)
        zf.writestr("fine.npy", _npy_header((20, 30)) + A.tobytes())
    rows = _rows(htmp.analyze(p, fits="mp"))
    assert rows["fine"][0] == "ok"
    assert rows["short"] == ("failed", f"ValueError: {p}: member 'short.npy': shape (20, 30) "
                                       f"of '<f4' needs 2400 data bytes, the file holds 100")
    assert rows["big"][0] == "failed" and "needs 800000000000000000000 data bytes" in \
        rows["big"][1]


# --- item 15: names are unique --------------------------------------------------------------

def test_colliding_flattened_names_get_suffixes(tmp_path):
    sd = {"a.b": torch.from_numpy(A), "a": {"b": torch.from_numpy(B)}, "a.b#2": A[:, :25]}
    analysis = htmp.analysis.run(sd, fits="mp")
    names = analysis.names
    assert names == ["a.b", "a.b#3", "a.b#2"] and len(set(names)) == 3
    np.testing.assert_allclose(analysis.spectra["a.b"], htmp.esd(A).eigenvalues, rtol=1e-6)
    np.testing.assert_allclose(analysis.spectra["a.b#3"], htmp.esd(B).eigenvalues, rtol=1e-6)
    # an .npz holding a member twice, a folder with two files naming the same tensor
    p = tmp_path / "dup.npz"
    with zipfile.ZipFile(p, "w") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        zf.writestr("w.npy", _npy_header((20, 30)) + A.tobytes())
        zf.writestr("w.npy", _npy_header((20, 30)) + B.tobytes())
    got = {w.name: w.array for w in hnn.iter_weights(p)}
    np.testing.assert_array_equal(got["w"], A)
    np.testing.assert_array_equal(got["w#2"], B)
    (tmp_path / "dup.npz").unlink()
    _good_st(tmp_path / "x.safetensors", w=A)
    _good_st(tmp_path / "y.safetensors", w=B)
    assert [s.name for s in hnn.weight_specs(tmp_path)] == ["w", "w#2"]


def test_cyclic_state_dict_is_refused():
    sd = {"w": torch.from_numpy(A)}
    sd["self"] = sd
    with pytest.raises(ValueError, match="state dict: the mapping at 'self' contains itself"):
        hnn.weight_specs(sd)


# --- item 16: unsupported dtypes appear as skipped rows ------------------------------------

def test_int8_complex_float8_quantised_weights_are_skipped_rows(tmp_path):
    w = torch.from_numpy(A)
    with pytest.warns(UserWarning, match="deprecated"):      # torch's own notice, not ours
        q = torch.quantize_per_tensor(w, 0.1, 0, torch.qint8)
    sd = {"f": w, "i8": w.to(torch.int8), "c": w.to(torch.complex64),
          "f8": w.to(torch.float8_e4m3fn), "q": q,
          "mask": torch.ones(20, 30, dtype=torch.bool), "ids": torch.arange(30)[None]}
    rows = _rows(htmp.analyze(sd, fits="mp"))
    assert list(rows) == ["f", "i8", "c", "f8", "q"]           # masks and ids are not weights
    for name, dtype in [("i8", "int8"), ("c", "complex64"), ("f8", "float8_e4m3fn"),
                        ("q", "qint8")]:
        assert rows[name] == ("skipped", f"dtype '{dtype}' is not supported (htmp reads "
                                         f"float16, bfloat16, float32 or float64 weights)")
    st_torch.save_file({k: v for k, v in sd.items() if k in ("f", "i8", "f8")},
                       tmp_path / "m.safetensors")
    df = htmp.analyze(tmp_path / "m.safetensors", fits="mp")
    assert df["status"].tolist() == ["ok", "skipped", "skipped"]
    assert df["message"].tolist()[1:] == [
        "dtype 'float8_e4m3' is not supported (htmp reads float16, bfloat16, float32 or "
        "float64 weights)",
        "dtype 'int8' is not supported (htmp reads float16, bfloat16, float32 or float64 "
        "weights)"]
    np.savez(tmp_path / "m.npz", f=A, u8=A.astype(np.uint8), z=A.astype(np.complex128))
    assert htmp.analyze(tmp_path / "m.npz", fits="mp")["status"].tolist() == \
        ["ok", "skipped", "skipped"]
    assert [w.name for w in hnn.iter_weights(tmp_path / "m.npz")] == ["f"]


# --- item 17: plain file names, sniffed formats, pickles refused ---------------------------

def test_no_analysable_layers_names_the_file_plainly(tmp_path):
    p = tmp_path / "biases.npz"
    np.savez(p, b=np.ones(5))
    with pytest.raises(ValueError, match="no analysable layers") as e:
        htmp.analyze(p)
    assert f"in {p} (" in str(e.value) and "PosixPath" not in str(e.value)


def test_misnamed_files_say_what_they_are(tmp_path):
    _good_st(tmp_path / "w.npy", w=A)                  # a safetensors file named .npy
    with pytest.raises(ValueError, match="not a .npy array: its first bytes are those of a "
                                         "safetensors file .rename it to .safetensors.") as e:
        hnn.weight_specs(tmp_path / "w.npy")
    assert "allow_pickle" not in str(e.value)
    import pickle
    (tmp_path / "p.npy").write_bytes(pickle.dumps({"w": A}))
    with pytest.raises(ValueError, match="a Python pickle .never loaded"):
        hnn.weight_specs(tmp_path / "p.npy")
    with open(tmp_path / "z.safetensors", "wb") as f:     # np.savez adds .npz to a name
        np.savez(f, w=A)
    with pytest.raises(ValueError, match="not a safetensors file .*its first bytes are those "
                                         "of a zip archive"):
        hnn.weight_specs(tmp_path / "z.safetensors")


class _Boom:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_pickles_stay_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.save({"w": torch.from_numpy(A), "evil": _Boom()}, tmp_path / "m.pt")
    with pytest.raises(ValueError, match="weights_only=True"):
        hnn.weight_specs(tmp_path / "m.pt")
    obj = np.empty((2, 3), dtype=object)
    obj[:] = _Boom()
    np.save(tmp_path / "o.npy", obj, allow_pickle=True)
    [spec] = hnn.weight_specs(tmp_path / "o.npy")
    assert spec.skip.startswith("dtype 'object' is not supported")
    assert not (tmp_path / "pwned").exists()

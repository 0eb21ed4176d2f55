"""experiments/fig21_feature_spectra.py: the quick run end to end, the CIFAR-10 reader on
tiny fake batches written here, the model zoo, and the argument errors."""
import importlib.util
import json
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

EXP = Path(__file__).resolve().parents[1] / "experiments"


def _load(name):
    if name in sys.modules:
        return sys.modules[name]
    sys.path.insert(0, str(EXP))
    spec = importlib.util.spec_from_file_location(name, EXP / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def exp():
    torch.set_num_threads(1)
    return _load("fig21_feature_spectra")


@pytest.fixture(scope="module")
def data():
    return _load("_fig21_data")


@pytest.fixture(scope="module")
def zoo():
    return _load("_fig21_models")


# -- the quick run --------------------------------------------------------------------------------
# ~2-3 s on an idle core (torch, mnist1d, 24 spectra, two figures); the CIFAR route runs the
# same pipeline, run(), on fake batches (test_cifar_route_trains_and_computes_spectra).
def test_quick_run_writes_results_and_figures(exp, data, tmp_path):
    if not data.available():
        pytest.skip("neither mnist1d nor scikit-learn is installed (no offline data set)")
    exp.main(["--quick", "--out", str(tmp_path)])
    import pandas as pd
    df = pd.read_csv(tmp_path / "results.csv")
    label = sorted(data.available(), reverse=True)[0]
    # every network x stage x spectrum, on the quick data set
    assert set(df.dataset) == {label}
    assert len(df) == 3 * 2 * 2
    assert set(zip(df.arch, df.stage, df.spectrum)) == {
        (a, s, k) for a in ("vgg11", "resnet9", "resnet18") for s in ("init", "trained")
        for k in ("ntk", "activations")}
    ntk = df[df.spectrum == "ntk"]
    assert (ntk.n_eigs == 16 * 10).all() and (ntk.n_inputs == 16).all()
    # the NTK spectra hold >= 50 positive eigenvalues, so they were fitted
    assert (ntk.fit_error.fillna("") == "").all()
    assert ntk.powerlaw_status.notna().all() and ntk.whole_invgamma_ks.between(0, 1).all()
    # an edge exponent is either measured (ok, > 1) or absent with its reason
    ok = ntk.edge_status == "ok"
    assert (ntk.edge_exponent[ok] > 1).all() and ntk.edge_exponent[~ok].isna().all()
    assert df.test_acc.between(0, 1).all() and df.train_acc.between(0, 1).all()
    assert df.train_seconds[df.stage == "trained"].notna().all()
    with np.load(tmp_path / "spectra.npz") as spec:
        e = spec[f"{label}/resnet9/trained/ntk"]
    assert len(e) == 160 and np.all(np.diff(e) >= 0)
    # activations: eigenvalues under matrix_rank's float32 tolerance were set to 0 (counted)
    act = df[df.spectrum == "activations"]
    assert (act.n_positive + act.n_zero == act.n_eigs).all()
    with np.load(tmp_path / "spectra.npz") as spec:
        for key in (k for k in spec.files if k.endswith("activations")):
            a = spec[key]      # min(n, p) eigenvalues of 64 inputs; max(n, p) >= 64
            tol = (max(64, len(a)) * np.finfo(np.float32).eps) ** 2 * a[-1]
            assert np.all((a == 0) | (a > tol))
    js = json.loads((tmp_path / "results.json").read_text())
    assert js["config"]["n"] == 16 and len(js["rows"]) == 12
    for kind in ("ntk", "activations"):
        assert (tmp_path / f"fig21_{label}_{kind}.png").stat().st_size > 20_000


def test_default_out_is_git_ignored(exp):
    import subprocess
    root = EXP.parent
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    rel = exp.OUT.relative_to(root) / "results.csv"
    r = subprocess.run(["git", "-C", str(root), "check-ignore", "-q", str(rel)])
    assert r.returncode == 0


# -- the model zoo ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 16, 16), (1, 40), (3, 32, 32)])
@pytest.mark.parametrize("arch", ["vgg11", "resnet9", "resnet18"])
def test_models_map_inputs_to_ten_logits(zoo, arch, shape):
    m = zoo.make_model(arch, input_shape=shape, n_classes=10, width=2, seed=0).eval()
    x = torch.randn(3, *shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert m(x).shape == (3, 10)
    assert isinstance(m.last, torch.nn.Identity)


def test_models_are_seeded_and_he_initialised(zoo):
    a = zoo.make_model("resnet18", input_shape=(1, 40), n_classes=10, width=8, seed=3)
    b = zoo.make_model("resnet18", input_shape=(1, 40), n_classes=10, width=8, seed=3)
    c = zoo.make_model("resnet18", input_shape=(1, 40), n_classes=10, width=8, seed=4)
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert torch.equal(p, q)
    assert not torch.equal(a.fc.weight, c.fc.weight)
    # He (fan-in, ReLU gain): weight variance 2 / fan_in.  The last block's first conv has
    # 64 x 64 x 3 = 12288 entries: the sample variance's relative s.d. is sqrt(2/12288) = 1.3 %
    w = dict(a.named_parameters())["body.10.f.0.weight"].detach()
    assert w.shape == (64, 64, 3)
    assert float(w.var()) == pytest.approx(2.0 / (64 * 3), rel=0.05)
    assert float(a.fc.bias.detach().abs().max()) == 0.0


def test_width_scales_parameters(zoo):
    p = [zoo.n_params(zoo.make_model("vgg11", input_shape=(1, 16, 16), n_classes=10,
                                     width=w, seed=0)) for w in (4, 8)]
    # convolutions dominate: doubling every channel count about quadruples P
    assert 3.5 < p[1] / p[0] < 4.1


@pytest.mark.parametrize("kw, match", [
    (dict(arch="vgg16"), r"arch must be one of .*got 'vgg16'"),
    (dict(width=0), r"width must be an integer >= 1.*got 0"),
    (dict(input_shape=(1, 8, 9)), r"input_shape must be \(C, L\) or \(C, H, H\), got \(1, 8, 9\)"),
    (dict(input_shape=(1, 4)), r"spatial size must be >= 8.*got 4"),
])
def test_model_argument_errors(zoo, kw, match):
    args = dict(arch="vgg11", input_shape=(1, 16, 16), n_classes=10, width=2, seed=0) | kw
    with pytest.raises(ValueError, match=match):
        zoo.make_model(args.pop("arch"), **args)


# -- CIFAR-10 reader ----------------------------------------------------------------------------
def _batch(n, rng, *, bytes_keys=True, labels=None, data=None):
    x = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8) if data is None else data
    y = list(rng.integers(0, 10, size=n)) if labels is None else labels
    d = {"batch_label": "fake", "data": x, "labels": [int(v) for v in y],
         "filenames": [f"img{i}.png" for i in range(n)]}
    if bytes_keys:          # as the real files read with encoding="bytes"
        d = {k.encode(): v for k, v in d.items()}
    return d


def _write_cifar(folder: Path, n=4, seed=0, protocol=2, **kw):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"):
        out[name] = _batch(n, rng, **kw)
        with open(folder / name, "wb") as f:
            pickle.dump(out[name], f, protocol=protocol)
    return out


@pytest.mark.parametrize("protocol, bytes_keys", [(2, True), (pickle.HIGHEST_PROTOCOL, False)])
def test_cifar_reader_reads_fake_batches(data, tmp_path, protocol, bytes_keys):
    raw = _write_cifar(tmp_path, n=4, protocol=protocol, bytes_keys=bytes_keys)
    xtr, ytr, xte, yte = data.load_cifar10(tmp_path)
    assert xtr.shape == (20, 3, 32, 32) and xte.shape == (4, 3, 32, 32)
    assert xtr.dtype == np.float32 and ytr.dtype == np.int64
    key = b"labels" if bytes_keys else "labels"
    assert ytr.tolist() == sum((raw[f"data_batch_{i}"][key] for i in range(1, 6)), [])
    # rows are (R, G, B) planes of 32 x 32, standardised per channel over the train set
    assert np.allclose(xtr.mean((0, 2, 3)), 0, atol=1e-5)
    assert np.allclose(xtr.std((0, 2, 3)), 1, atol=1e-4)
    first = raw["data_batch_1"][b"data" if bytes_keys else "data"][0].astype(np.float32)
    img = first.reshape(3, 32, 32)
    # undo the standardisation of channel 1 and compare with the raw green plane
    g = xtr[:, 1]
    raw_g = np.concatenate([raw[f"data_batch_{i}"][b"data" if bytes_keys else "data"]
                            for i in range(1, 6)]).reshape(-1, 3, 32, 32)[:, 1].astype(float)
    assert np.allclose(g[0] * raw_g.std() + raw_g.mean(), img[1], atol=1e-3)


def test_cifar_reader_reads_numpy1_pickles(data, tmp_path):
    """The real files name numpy.core.multiarray (numpy 1); read without a warning."""
    raw = _write_cifar(tmp_path, n=3, protocol=2)
    for name in raw:
        b = (tmp_path / name).read_bytes()
        assert b"numpy._core.multiarray\n_reconstruct" in b    # protocol 2: text GLOBALs
        (tmp_path / name).write_bytes(b.replace(b"numpy._core.", b"numpy.core."))
    xtr, ytr, _, yte = data.load_cifar10(tmp_path)       # warnings are errors in the suite
    assert xtr.shape == (15, 3, 32, 32) and yte.tolist() == raw["test_batch"][b"labels"]


def test_cifar_reader_refuses_code_in_a_pickle(data, tmp_path):
    _write_cifar(tmp_path)
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))
    with open(tmp_path / "data_batch_3", "wb") as f:
        pickle.dump({"data": Evil(), "labels": []}, f, protocol=2)
    with pytest.raises(ValueError, match=r"data_batch_3 is not a CIFAR-10 python batch: "
                                         r"global .*system is not allowed"):
        data.load_cifar10(tmp_path)
    assert not marker.exists()


@pytest.mark.parametrize("kw, match", [
    (dict(labels=[0, 1, 2, 10]), r"'labels' must be 4 integers in \[0, 9\], got 4 .*\[0, 10\]"),
    (dict(labels=[0, 1, 2]), r"'labels' must be 4 integers in \[0, 9\], got 3"),
    (dict(data=np.zeros((4, 1024), np.uint8)),
     r"'data' must be a uint8 array of shape \(N, 3072\), got ndarray uint8 \(4, 1024\)"),
    (dict(data=np.zeros((4, 3072), np.float32)), r"'data' must be a uint8 array"),
])
def test_cifar_reader_validates_batches(data, tmp_path, kw, match):
    _write_cifar(tmp_path, n=4, **kw)
    with pytest.raises(ValueError, match=r"data_batch_1: " + match):
        data.load_cifar10(tmp_path)


def test_cifar_reader_folder_errors(data, tmp_path):
    with pytest.raises(ValueError, match=r"cifar must be a folder .*not a folder"):
        data.load_cifar10(tmp_path / "nope")
    _write_cifar(tmp_path)
    (tmp_path / "test_batch").unlink()
    with pytest.raises(ValueError, match=r"lacks \['test_batch'\]"):
        data.load_cifar10(tmp_path)
    (tmp_path / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match=r"test_batch is not a CIFAR-10 python batch"):
        data.load_cifar10(tmp_path)
    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump([1, 2], f)
    with pytest.raises(ValueError, match=r"test_batch must hold a dict, got list"):
        data.load_cifar10(tmp_path)
    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({"data": np.zeros((1, 3072), np.uint8)}, f)
    with pytest.raises(ValueError, match=r"must have keys 'data' and 'labels', missing "
                                         r"\['labels'\]"):
        data.load_cifar10(tmp_path)


def test_cifar_route_trains_and_computes_spectra(exp, data, tmp_path):
    """--cifar DIR end to end on fake batches (2 inputs per class per batch): the run() that
    --quick runs, in the default suite (one tiny network)."""
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar"
    folder.mkdir()
    for name in (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"):
        with open(folder / name, "wb") as f:
            pickle.dump(_batch(20, rng, labels=np.repeat(np.arange(10), 2)), f, protocol=2)
    cfg = exp.Config(datasets=("cifar10",), cifar=folder, archs=("resnet9",), n=10, n_act=20,
                     width=1, epochs=1, batch_size=5)
    rows = exp.run(cfg, tmp_path)
    assert [(r["stage"], r["spectrum"]) for r in rows] == [
        ("init", "ntk"), ("init", "activations"), ("trained", "ntk"), ("trained", "activations")]
    assert rows[0]["n_eigs"] == 100 and rows[0]["n_params"] > 0
    assert (tmp_path / "fig21_cifar10_ntk.png").exists()


def test_balanced_subset(data):
    y = np.repeat(np.arange(10), 7)
    idx = data.balanced_subset(y, 25, rng=0)
    counts = np.bincount(y[idx], minlength=10)
    assert len(set(idx)) == 25 and counts.max() - counts.min() <= 1
    assert np.array_equal(idx, data.balanced_subset(y, 25, rng=0))
    with pytest.raises(ValueError, match=r"n must leave at least n/10 inputs per class, got "
                                         r"n=80"):
        data.balanced_subset(y, 80, rng=0)


# -- argument errors -----------------------------------------------------------------------------
@pytest.mark.parametrize("kw, match", [
    (dict(n=5), r"n must be an integer >= 10, got 5"),
    (dict(width=0), r"width must be an integer >= 1, got 0"),
    (dict(epochs=1.5), r"epochs must be an integer >= 1, got 1.5"),
    (dict(lr=-0.1), r"lr must be a finite number > 0, got -0.1"),
    (dict(momentum=1.0), r"momentum must be a number in \[0, 1\), got 1.0"),
    (dict(device="tpu"), r"device must be one of \('cpu', 'cuda'\), got 'tpu'"),
    (dict(datasets=("svhn",)), r"datasets must be a non-empty subset of .*got \('svhn',\)"),
    (dict(archs=()), r"archs must be a non-empty subset of .*got \(\)"),
    (dict(datasets=("cifar10",)), r"cifar10 is read from the folder given by cifar"),
    (dict(cifar=Path("x")), r"cifar10 is read from the folder given by cifar"),
    (dict(mnist1d_samples=5), r"mnist1d_samples must be None or an integer >= 100, got 5"),
])
def test_config_errors(exp, kw, match):
    with pytest.raises(ValueError, match=match):
        exp.Config(**kw)


@pytest.mark.parametrize("argv, match", [
    (["--n", "3"], r"n must be an integer >= 10, got 3"),
    (["--threads", "0"], r"threads must be an integer >= 1, got 0"),
    (["--device", "gpu"], r"device must be one of \('cpu', 'cuda'\), got 'gpu'"),
])
def test_cli_errors_exit_2_with_the_message(exp, data, argv, match, capsys):
    if not data.available():
        pytest.skip("no offline data set installed")
    with pytest.raises(SystemExit) as e:
        exp.parse(argv)
    assert e.value.code == 2
    import re
    assert re.search(match, capsys.readouterr().err)


def test_cli_cifar_folder_must_exist(exp, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        exp.main(["--cifar", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert e.value.code == 2
    assert "cifar must be a folder holding the CIFAR-10 python batches" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_cuda_without_a_gpu_is_refused_before_any_work(exp, data, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    if not data.available():
        pytest.skip("no offline data set installed")
    with pytest.raises(RuntimeError, match=r"device='cuda' was requested but "
                                           r"torch.cuda.is_available\(\) is False"):
        exp.main(["--quick", "--device", "cuda", "--out", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists()

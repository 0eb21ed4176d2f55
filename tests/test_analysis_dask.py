"""``htmp.analyze(..., client=)`` and ``htmp analyze --scheduler/--dask-workers`` on a
LocalCluster of two worker processes: the table of a serial run (except ``seconds``),
specs that carry paths (never arrays), a dead worker costing only its row."""
import io
import os
import pickle
import subprocess
import sys
import time
from functools import partial

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import htmp
from htmp.analysis import _dask
from htmp.cli.app import app
from htmp.nn import WeightSpec, weight_specs

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")
safetensors_numpy = pytest.importorskip("safetensors.numpy")

runner = CliRunner()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """Six weights: four analysable, one NaN ("failed"), one int8 ("skipped")."""
    rng = np.random.default_rng(11)
    tensors = {f"layer.{i}.weight": rng.standard_normal((30 + 10 * i, 90)).astype(np.float32)
               for i in range(4)}
    tensors["layer.4.weight"] = np.full((20, 40), np.nan, dtype=np.float32)
    tensors["layer.5.weight"] = np.ones((20, 40), dtype=np.int8)
    path = tmp_path_factory.mktemp("dask") / "m.safetensors"
    safetensors_numpy.save_file(tensors, str(path))
    return path


@pytest.fixture(scope="module")
def client():
    """Two worker processes (so the specs really cross a process boundary), one thread
    each; Dask's default retries (a task that killed 4 workers is a KilledWorker), so a
    layer that was merely running beside it on a dying worker is recomputed."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address="127.0.0.1:0") as cluster, \
            distributed.Client(cluster, set_as_default=False) as c:
        yield c


def _without_seconds(df):
    return df.drop(columns="seconds")


def test_client_gives_the_serial_table(model, client, monkeypatch):
    monkeypatch.chdir(model.parent)             # a relative path: workers get it absolute
    seen = []
    got = htmp.analyze(model.name, client=client, progress=lambda d, t, n: seen.append((d, t, n)))
    want = htmp.analyze(model.name)
    pd.testing.assert_frame_equal(_without_seconds(got), _without_seconds(want))
    assert list(got["status"]) == ["ok"] * 4 + ["failed", "skipped"]
    assert got["seconds"].iloc[:4].notna().all()
    assert [d for d, _, _ in seen] == list(range(1, 7))
    assert {t for _, t, _ in seen} == {6}
    assert sorted(n for _, _, n in seen) == sorted(want["name"])


def test_a_run_folder_on_a_client_gives_the_serial_long_table(model, client, tmp_path):
    """Training runs and Dask together: every checkpoint's layers are tasks on the cluster."""
    import shutil
    for step in (20, 3):
        (tmp_path / f"checkpoint-{step}").mkdir()
        shutil.copy(model, tmp_path / f"checkpoint-{step}" / "model.safetensors")
    got = htmp.analyze(tmp_path, client=client)
    want = htmp.analyze(tmp_path)
    pd.testing.assert_frame_equal(_without_seconds(got), _without_seconds(want))
    assert list(got["step"].drop_duplicates()) == [3, 20]


@pytest.mark.parametrize("suffix", [".npz", ".npy"])
def test_numpy_files_by_path(tmp_path, client, suffix):
    rng = np.random.default_rng(5)
    w = {"a": rng.standard_normal((30, 70)), "b": rng.standard_normal((40, 60))}
    path = tmp_path / f"m{suffix}"
    if suffix == ".npz":
        np.savez(path, **w)
    else:
        np.save(path, w["a"])
    got, want = htmp.analyze(path, client=client), htmp.analyze(path)
    pd.testing.assert_frame_equal(_without_seconds(got), _without_seconds(want))
    assert set(got["status"]) == {"ok"}


def test_run_keeps_the_spectra(model, client):
    got, want = htmp.analysis.run(model, client=client), htmp.analysis.run(model)
    assert list(got.spectra) == list(want.spectra)
    for name, eigs in want.spectra.items():
        np.testing.assert_array_equal(got.spectra[name], eigs)     # same code, same bytes
        assert not got.spectra[name].flags.writeable
    assert "client" not in got.options


def test_specs_carry_a_path_never_an_array(model):
    specs = _dask.wire_specs(weight_specs(model), str(model))
    for spec in specs:
        assert not any(isinstance(a, np.ndarray) for a in spec.load.args)
        assert len(pickle.dumps(spec)) < 2000    # a 30x90 float32 weight alone is 10800 B
    assert os.fspath(specs[0].load.args[0]) == os.path.abspath(model)


def test_a_dead_worker_fails_only_its_row(model, client, monkeypatch):
    """A task whose load() ends its worker process (as the kernel's OOM killer would)."""
    real = _dask.wire_specs
    killer = WeightSpec("killer", "tensor", (20, 40), "float32", partial(os._exit, 3))

    def with_killer(specs, source):
        out = real(specs, source)
        return out[:2] + [killer] + out[2:]

    monkeypatch.setattr(_dask, "wire_specs", with_killer)
    got = htmp.analyze(model, client=client)
    assert list(got["name"][:3]) == ["layer.0.weight", "layer.1.weight", "killer"]
    row = got.iloc[2]
    assert row["status"] == "failed"
    assert row["message"].startswith("dask task failed: KilledWorker")
    assert (row["N"], row["M"], row["shape"]) == (20, 40, "20x40")
    want = htmp.analyze(model)
    pd.testing.assert_frame_equal(_without_seconds(got.drop(index=2).reset_index(drop=True)),
                                  _without_seconds(want))


@pytest.mark.parametrize("source", [
    pytest.param(lambda p: np.ones((20, 40)), id="array"),
    pytest.param(lambda p: {"w": np.ones((20, 40))}, id="state-dict"),
])
def test_in_memory_sources_are_refused(model, client, source):
    with pytest.raises(ValueError, match="client= needs a model read from files by path"):
        htmp.analyze(source(model), client=client)


def test_client_argument_checked(model, client):
    with pytest.raises(TypeError, match="client must be a distributed.Client or None, got str"):
        htmp.analyze(model, client="tcp://127.0.0.1:8786")
    with pytest.raises(ValueError, match="workers must be 1 when client= is given.*got 2"):
        htmp.analyze(model, client=client, workers=2)


def _cli_table(*args):
    result = runner.invoke(app, ["analyze", *map(str, args), "--format", "csv"])
    assert result.exit_code == 0, result.output
    return pd.read_csv(io.StringIO(result.stdout)).drop(columns="seconds")


def test_cli_scheduler_gives_the_serial_table(model, client):
    got = _cli_table(model, "--scheduler", client.scheduler.address)
    pd.testing.assert_frame_equal(got, _cli_table(model))


def test_cli_dask_workers_starts_and_closes_a_local_cluster(model):
    got = _cli_table(model, "--dask-workers", 1)
    pd.testing.assert_frame_equal(got, _cli_table(model))


def test_cli_unreachable_scheduler_fails_before_any_work(model, monkeypatch):
    def no_work(*a, **k):
        raise AssertionError("the analysis started")

    monkeypatch.setattr("htmp.analysis.run", no_work)
    t0 = time.perf_counter()
    result = runner.invoke(app, ["analyze", str(model), "--scheduler", "tcp://127.0.0.1:1"])
    assert time.perf_counter() - t0 < 6
    assert result.exit_code == 2
    assert "error: no Dask scheduler answers at tcp://127.0.0.1:1" in result.output


@pytest.mark.parametrize("args, message", [
    (["--scheduler", "nonsense"], "--scheduler must be a Dask scheduler address such as "
                                  "tcp://host:8786, got 'nonsense'"),
    (["--scheduler", "tcp://127.0.0.1:1", "--dask-workers", "2"],
     "--scheduler and --dask-workers are exclusive"),
    (["--dask-workers", "0"], "--dask-workers must be >= 1, got 0"),
])
def test_cli_bad_dask_options(model, args, message):
    result = runner.invoke(app, ["analyze", str(model), *args])
    assert result.exit_code == 2
    assert f"error: {message}" in result.output


def test_core_imports_and_runs_without_dask(model):
    """``import htmp`` and a serial analysis never import dask."""
    code = ("import sys; sys.modules['dask'] = sys.modules['distributed'] = None\n"
            "import htmp\n"
            f"print(htmp.analyze({str(model)!r})['status'].tolist())\n"
            "assert 'distributed' not in sys.modules or sys.modules['distributed'] is None")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "'ok'" in out.stdout

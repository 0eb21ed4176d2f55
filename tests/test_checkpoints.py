"""Many checkpoints, one table: htmp.analyze / run of a list or a run folder, `htmp analyze P1 P2`.

Checkpoints are tiny safetensors files written here (numpy + safetensors): two or three
layers of 64x128, 48x96 (cubed Gaussian entries: heavy-tailed) and 32x80.
"""
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import htmp
from htmp.analysis import Analysis, RunAnalysis, run
from htmp.analysis._checkpoints import checkpoint_sources, step_of
from htmp.cli.app import app

save_file = pytest.importorskip("safetensors.numpy").save_file


def _weights(seed, extra=True):
    rng = np.random.default_rng(seed)
    w = {"a.weight": rng.standard_normal((64, 128)).astype(np.float32),
         "b.weight": (rng.standard_normal((48, 96)) ** 3).astype(np.float32)}
    if extra:
        w["c.weight"] = rng.standard_normal((32, 80)).astype(np.float32)
    return w


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """checkpoint-2, checkpoint-10, checkpoint-100 (checkpoint-10 lacks c.weight) and a
    file that is not a checkpoint."""
    d = tmp_path_factory.mktemp("run")
    for step in (10, 2, 100):
        p = d / f"checkpoint-{step}"
        p.mkdir()
        save_file(_weights(step, extra=step != 10), str(p / "model.safetensors"))
    (d / "trainer_state.json").write_text("{}")
    return d


def _same(long, single):
    a = long.drop(columns=["model", "step", "seconds"]).reset_index(drop=True)
    b = single.drop(columns=["seconds"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_step_names():
    assert [step_of(n) for n in ("checkpoint-10", "step_7", "step-0", "checkpoint_3",
                                 "ckpt-1", "checkpoint-", "step_1a")] == [10, 7, 0, 3, None,
                                                                          None, None]


def test_run_folder_ordered_by_step_rows_equal_single_analyses(run_dir):
    df = htmp.analyze(run_dir)
    assert list(df.columns[:3]) == ["model", "step", "name"]
    assert list(dict.fromkeys(df["model"])) == ["checkpoint-2", "checkpoint-10",
                                                "checkpoint-100"]
    assert str(df["step"].dtype) == "Int64"
    for label in ("checkpoint-2", "checkpoint-10", "checkpoint-100"):
        rows = df[(df["model"] == label) & (df["status"] != "missing")]
        assert (rows["step"] == int(label.split("-")[1])).all()
        _same(rows, htmp.analyze(run_dir / label))


def test_missing_layer_is_said(run_dir):
    df = htmp.analyze(run_dir)
    miss = df[df["status"] == "missing"]
    assert miss[["model", "name"]].values.tolist() == [["checkpoint-10", "c.weight"]]
    assert miss["message"].iloc[0] == ("no weight named c.weight in this checkpoint "
                                       "(2 of 3 checkpoints have it)")
    assert np.isnan(miss["kappa"].iloc[0]) and miss["phase"].iloc[0] == ""
    assert miss["N"].isna().all()


def test_list_of_paths_sorted_by_step_and_every(run_dir):
    paths = [run_dir / "checkpoint-10", run_dir / "checkpoint-100", run_dir / "checkpoint-2"]
    df = htmp.analyze(paths)
    assert list(dict.fromkeys(df["model"])) == ["checkpoint-2", "checkpoint-10",
                                                "checkpoint-100"]
    # every=2: the 1st and the 3rd; every=5: the 1st and, always, the last
    assert [x[0] for x in checkpoint_sources(paths, every=2)] == ["checkpoint-2",
                                                                  "checkpoint-100"]
    assert [x[0] for x in checkpoint_sources(run_dir, every=5)] == ["checkpoint-2",
                                                                    "checkpoint-100"]
    with pytest.raises(ValueError, match="every must be"):
        htmp.analyze(paths, every=0)


def test_list_without_steps_keeps_order_and_objects(tmp_path):
    for name, seed in (("late.safetensors", 1), ("early.safetensors", 2)):
        save_file(_weights(seed, extra=False), str(tmp_path / name))
    df = htmp.analyze([tmp_path / "late.safetensors", tmp_path / "early.safetensors"])
    assert list(dict.fromkeys(df["model"])) == ["late.safetensors", "early.safetensors"]
    assert df["step"].isna().all()
    sd = {k: v for k, v in _weights(3, extra=False).items()}
    df2 = htmp.analyze([sd, sd])
    assert list(dict.fromkeys(df2["model"])) == ["dict-0", "dict-1"]
    _same(df2[df2["model"] == "dict-1"], htmp.analyze(sd))


def test_single_source_unchanged(run_dir):
    df = htmp.analyze(run_dir / "checkpoint-2")
    assert "model" not in df.columns and df.columns[0] == "name"


def test_bad_input(tmp_path, run_dir):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="holds no model file and no checkpoint sub-folders"):
        htmp.analyze(empty)
    with pytest.raises(ValueError, match="at least one checkpoint"):
        htmp.analyze([])
    with pytest.raises(ValueError, match=r"model_or_path\[0\] is a run folder"):
        htmp.analyze([run_dir, run_dir / "checkpoint-2"])
    with pytest.raises(ValueError, match="each checkpoint once, got .*checkpoint-2 more"):
        htmp.analyze([run_dir / "checkpoint-2", run_dir / "checkpoint-2"])


def test_run_gives_run_analysis(run_dir):
    r = run(run_dir)
    assert isinstance(r, RunAnalysis)
    assert r.labels == ("checkpoint-2", "checkpoint-10", "checkpoint-100")
    assert r.steps == (2, 10, 100)
    assert r.options["every"] == 1 and r.options["min_evals"] == 8
    assert all(isinstance(a, Analysis) for a in r.checkpoints)
    assert "c.weight" not in r.checkpoints[1].spectra and "c.weight" in r.checkpoints[2].spectra
    _same(r.table[r.table["status"] != "missing"],
          pd.concat([a.table for a in r.checkpoints], ignore_index=True))
    with pytest.raises(Exception):
        r.labels = ()


def test_cli_several_paths_and_run_folder(run_dir):
    runner = CliRunner()
    res = runner.invoke(app, ["analyze", str(run_dir / "checkpoint-100"),
                              str(run_dir / "checkpoint-2"), "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [r["model"] for r in doc["layers"]][::3] == ["checkpoint-2", "checkpoint-100"]
    assert doc["layers"][0]["step"] == 2
    assert [c["model"] for c in doc["checkpoints"]] == ["checkpoint-2", "checkpoint-100"]
    assert doc["checkpoints"][0]["summary"]["n_layers"] == 3
    res = runner.invoke(app, ["analyze", str(run_dir), "--format", "csv", "--every", "2"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].startswith("model,step,name,")
    assert {ln.split(",")[0] for ln in lines[1:]} == {"checkpoint-2", "checkpoint-100"}
    res = runner.invoke(app, ["analyze", str(run_dir)])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[0].split()[:2] == ["model", "name"]
    assert "missing: checkpoint-10: c.weight: no weight named c.weight" in res.stdout
    assert "checkpoint-100: 3 layers" in res.stdout


def test_cli_empty_run_folder_exits_2(tmp_path):
    res = CliRunner().invoke(app, ["analyze", str(tmp_path)])
    assert res.exit_code == 2
    assert "holds no model file and no checkpoint sub-folders" in res.output


def test_report_of_a_run_shows_the_run(run_dir, tmp_path):
    pytest.importorskip("matplotlib")
    from htmp.report import write_report

    r = run(run_dir)
    html = write_report(r, tmp_path / "rep", title="run").read_text(encoding="utf-8")
    assert html.count('<section class="run"') == 1
    assert "Training run: 3 checkpoints" in html
    assert 'alt="phase of each layer at each checkpoint"' in html
    for name in ("a.weight", "b.weight", "c.weight"):
        assert f'alt="kappa and alpha of {name} over the run"' in html
    assert html.count('<section class="layer-run"') == 3
    assert "1 layer(s) missing from some checkpoints" in html
    assert "Figure not drawn" not in html
    # first and last checkpoints in full, with their ESDs
    assert html.count('<section class="model"') == 2
    assert ">checkpoint-2</h2>" in html and ">checkpoint-100</h2>" in html
    assert "<script" not in html


def test_run_figures_label_axes_and_return_ax(run_dir):
    pytest.importorskip("matplotlib")
    from htmp.report.figures import new_figure
    from htmp.report.run_figures import plot_run_layer, plot_run_phases

    t = htmp.analyze([run_dir / "checkpoint-2", run_dir / "checkpoint-10"])
    fig, (ax,) = new_figure(5, 3)
    assert plot_run_phases(t, ax=ax) is ax
    assert ax.get_xlabel() == "checkpoint (by training step)"
    assert ax.get_ylabel() == "layer (depth order)"
    assert [x.get_text() for x in ax.get_legend().get_texts()][-1] == "missing (×)"
    fig, axes = new_figure(8, 3, ncols=2)
    assert plot_run_layer(t, "c.weight", axes=axes) is axes
    assert [a.get_xlabel() for a in axes] == ["training step"] * 2
    t2 = t.assign(step=pd.array([None] * len(t), dtype="Int64"))
    fig, axes = new_figure(8, 3, ncols=2)
    plot_run_layer(t2, "a.weight", axes=axes)
    assert axes[0].get_xlabel() == "checkpoint (in the order given)"
    assert [x.get_text() for x in axes[0].get_xticklabels()] == ["checkpoint-2",
                                                                 "checkpoint-10"]


def test_cli_run_report_and_progress(run_dir, tmp_path):
    pytest.importorskip("matplotlib")
    res = CliRunner().invoke(app, ["analyze", str(run_dir), "--every", "2", "--progress",
                                   "--report", str(tmp_path / "rep"), "--format", "csv"])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "rep" / "index.html").read_text(encoding="utf-8")
    assert "Training run: 2 checkpoints" in html
    assert "htmp report: run" in html

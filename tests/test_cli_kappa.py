"""`htmp kappa` through typer's CliRunner, against the library (function vs CLI)."""
import json

from typer.testing import CliRunner

from htmp.cli import app
from htmp.repulsion import estimate_kappa

runner = CliRunner()


def test_kappa_json_matches_library():
    args = ["kappa", "kronecker", "--n", "16", "--factor-sizes", "4", "--factor-sizes", "4",
            "--seed", "3", "--samples", "60", "--iterations", "4", "--json"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    ref = estimate_kappa("kronecker", n=16, factor_sizes=(4, 4), rng=3, n_samples=60, n_iter=4)
    assert out == json.loads(json.dumps(ref.to_dict()))


def test_kappa_text_shows_closed_form():
    res = runner.invoke(app, ["kappa", "block_diagonal", "--n", "16", "--block-size", "4",
                              "--seed", "1", "--samples", "50", "--iterations", "4"])
    assert res.exit_code == 0, res.output
    ref = estimate_kappa("block_diagonal", n=16, block_size=4, rng=1, n_samples=50, n_iter=4)
    assert f"kappa = {ref.kappa:.6g} +/- {ref.kappa_se:.2g}" in res.stdout
    assert f"closed form (Prop G.1/Thm G.3) = {16 * 3 / 15:.6g}" in res.stdout


def test_kappa_without_closed_form_prints_count():
    res = runner.invoke(app, ["kappa", "commuting_block_diagonal", "--n", "8", "--block-size", "2",
                              "--seed", "0", "--samples", "20", "--iterations", "2"])
    assert res.exit_code == 0, res.output
    assert "no closed form; count heuristic 2|P|/(N-1) = 0.285714" in res.stdout  # 2*1/7


def test_kappa_bad_block_size_is_a_clear_error():
    res = runner.invoke(app, ["kappa", "block_diagonal", "--n", "30", "--block-size", "4"])
    assert res.exit_code == 2
    assert "--block-size must divide n=30 (accepted: divisors of 30), got 4" in res.output

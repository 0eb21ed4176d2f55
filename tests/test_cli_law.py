"""`htmp law` through typer's CliRunner, against the library (function vs CLI)."""
import json

from typer.testing import CliRunner

from htmp import HTMP
from htmp.cli import app

runner = CliRunner()


def test_law_json_matches_library():
    res = runner.invoke(app, ["law", "htmp", "0.3", "1.0", "--gamma", "0.5", "--kappa", "2", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    law = HTMP(gamma=0.5, kappa=2.0)
    for row in out["values"]:
        assert row["pdf"] == float(law.pdf(row["x"]))
        assert row["cdf"] == float(law.cdf(row["x"]))


def test_law_bad_parameter_is_a_clear_error():
    res = runner.invoke(app, ["law", "htmp", "1.0", "--gamma", "1.5", "--kappa", "2"])
    assert res.exit_code == 2
    assert "gamma must be finite and in (0, 1), got 1.5" in res.output


def test_law_table_for_mp():
    res = runner.invoke(app, ["law", "mp", "1.0", "--gamma", "0.25"])
    assert res.exit_code == 0
    assert "MarchenkoPastur(gamma=0.25, scale=1)" in res.stdout

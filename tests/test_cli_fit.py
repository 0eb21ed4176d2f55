"""``htmp fit`` through typer's CliRunner agrees with the library functions."""
import json

import numpy as np
import pytest
from typer.testing import CliRunner

import htmp
from htmp.cli.app import app
from htmp.ensembles import htmp_eigvals

runner = CliRunner()


def test_fit_matrix_json_matches_function(tmp_path):
    W = np.random.default_rng(0).standard_normal((100, 300))
    p = tmp_path / "w.npy"; np.save(p, W)
    r = runner.invoke(app, ["fit", str(p), "--law", "mp", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["scale"] == htmp.fit_mp(htmp.esd(W)).scale


@pytest.mark.parametrize("law", ["htmp", "powerlaw", "invgamma"])
def test_fit_eigenvalues(tmp_path, law):
    x = htmp_eigvals(400, gamma=0.5, kappa=3.0, rng=1)
    p = tmp_path / "e.npy"; np.save(p, x)
    r = runner.invoke(app, ["fit", str(p), "--law", law, "--gamma", "0.5", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    fn = {"htmp": lambda: htmp.fit_htmp(x, gamma=0.5).kappa,
          "powerlaw": lambda: htmp.fit_powerlaw(x).alpha,
          "invgamma": lambda: htmp.fit_invgamma(x).a}[law]
    key = {"htmp": "kappa", "powerlaw": "alpha", "invgamma": "a"}[law]
    assert out[key] == fn()
    assert runner.invoke(app, ["fit", str(p), "--law", law, "--gamma", "0.5"]).exit_code == 0


def test_fit_errors(tmp_path):
    p = tmp_path / "e.npy"; np.save(p, np.array([1.0, 2.0, 3.0]))
    r = runner.invoke(app, ["fit", str(p), "--law", "htmp"])
    assert r.exit_code == 2 and "gamma" in r.output
    q = tmp_path / "bad.npy"; np.save(q, np.array([[1.0, np.nan], [1.0, 2.0]]))
    assert runner.invoke(app, ["fit", str(q)]).exit_code == 2

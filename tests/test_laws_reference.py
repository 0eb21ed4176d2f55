"""HTMP against high-precision reference values.

* ``data/htmp_reference_spec.csv``: the project spec's 40 rows (mpmath, dps 40).
* ``data/htmp_mpmath_grid.csv``: our own mpmath grid over the whole domain
  (see ``data/make_mpmath_reference.py`` for how it was made), if present.

Tolerances are those of the issue: pdf relative error <= 1e-10, cdf absolute error <= 1e-12.
"""
import numpy as np
import pandas as pd
import pytest

from htmp import HTMP


def _read(path):
    return pd.read_csv(path, comment="#")


def test_spec_reference_pdf_cdf(data_dir):
    ref = _read(data_dir / "htmp_reference_spec.csv")
    for (g, k), rows in ref.groupby(["gamma", "kappa"]):
        law = HTMP(gamma=g, kappa=k)
        x = rows["x"].to_numpy()
        pdf = law.pdf(x)
        np.testing.assert_allclose(pdf, rows["pdf"], rtol=1e-10, atol=0,
                                   err_msg=f"pdf at gamma={g}, kappa={k}")
        np.testing.assert_allclose(law.cdf(x), rows["cdf"], rtol=0, atol=1e-12,
                                   err_msg=f"cdf at gamma={g}, kappa={k}")


def _grid(data_dir):
    path = data_dir / "htmp_mpmath_grid.csv"
    if not path.exists():
        pytest.fail(f"reference grid {path} is missing: run tests/data/make_mpmath_reference.py")
    return _read(path)


def test_mpmath_grid_pdf_logpdf(data_dir):
    ref = _grid(data_dir)
    worst = 0.0
    for (g, k), rows in ref.groupby(["gamma", "kappa"]):
        law = HTMP(gamma=g, kappa=k)
        x = rows["x"].to_numpy()
        lp = law.logpdf(x)
        # relative error of pdf = |exp(dlog) - 1|; compare in log space so underflow is covered
        rel = np.abs(np.expm1(lp - rows["logpdf"].to_numpy()))
        worst = max(worst, rel.max())
        assert np.all(rel <= 1e-10), (g, k, x[rel > 1e-10], rel[rel > 1e-10])


def test_mpmath_grid_cdf_sf(data_dir):
    ref = _grid(data_dir)
    for (g, k), rows in ref.groupby(["gamma", "kappa"]):
        law = HTMP(gamma=g, kappa=k)
        x = rows["x"].to_numpy()
        F, S = law.cdf(x), law.sf(x)
        # the domain is kappa in [0.01, 1000]; the grid also holds a few pairs outside
        # it (kappa down to 2e-4, where pi c ~ 3e-4 amplifies phase rounding): 1e-11 there
        atol = 1e-12 if 0.01 <= k <= 1000 else 1e-11
        np.testing.assert_allclose(F, rows["cdf"], rtol=0, atol=atol,
                                   err_msg=f"cdf at gamma={g}, kappa={k}")
        np.testing.assert_allclose(S, rows["sf"], rtol=0, atol=atol,
                                   err_msg=f"sf at gamma={g}, kappa={k}")
        # in the tails both keep relative precision
        tail = rows["sf"].to_numpy() < 1e-3
        np.testing.assert_allclose(S[tail], rows["sf"].to_numpy()[tail], rtol=1e-9,
                                   err_msg=f"sf tail at gamma={g}, kappa={k}")
        low = rows["cdf"].to_numpy() < 1e-3
        np.testing.assert_allclose(F[low], rows["cdf"].to_numpy()[low], rtol=1e-9,
                                   err_msg=f"cdf tail at gamma={g}, kappa={k}")

"""Bad input: errors name the parameter, the accepted range and the value received;
points outside the support give 0 / 0 or 1 / NaN, never a silent NaN from valid input."""
import numpy as np
import pytest

from htmp import HTMP, InverseHTMP, MarchenkoPastur, TrinhTrinh


@pytest.mark.parametrize("law", [HTMP, InverseHTMP])
@pytest.mark.parametrize("kwargs,match", [
    (dict(gamma=0.5, kappa=0.0), r"kappa must be finite and in \(0, inf\), got 0.0"),
    (dict(gamma=0.5, kappa=-1.0), r"kappa .* got -1.0"),
    (dict(gamma=1.0, kappa=1.0), r"gamma must be finite and in \(0, 1\), got 1.0"),
    (dict(gamma=0.0, kappa=1.0), r"gamma .*\(0, 1\).* got 0.0"),
    (dict(gamma=np.nan, kappa=1.0), r"gamma .* got nan"),
    (dict(gamma=0.5, kappa=np.inf), r"kappa .* got inf"),
    (dict(gamma=0.5, kappa=1.0, scale=-2.0), r"scale .* got -2.0"),
])
def test_bad_parameters_raise(law, kwargs, match):
    with pytest.raises(ValueError, match=match):
        law(**kwargs)


def test_keyword_only():
    with pytest.raises(TypeError):
        HTMP(0.5, 2.0)


def test_mp_accepts_gamma_one_only_up_to_one():
    MarchenkoPastur(gamma=1.0)
    with pytest.raises(ValueError, match=r"gamma must be finite and in \(0, 1\], got 1.5"):
        MarchenkoPastur(gamma=1.5)


def test_trinh_trinh_ranges():
    with pytest.raises(ValueError, match=r"alpha must be finite and in \(-1, 1e\+15\], got -1.0"):
        TrinhTrinh(alpha=-1.0, c=1.0)
    with pytest.raises(ValueError, match=r"c must be .* got 0.0"):
        TrinhTrinh(alpha=0.0, c=0.0)


def test_array_parameters_report_offending_entries():
    with pytest.raises(ValueError, match=r"kappa .* offending entries \[-3.0\]"):
        HTMP(gamma=0.5, kappa=np.array([1.0, -3.0]))


def test_outside_support_and_nan_points():
    law = HTMP(gamma=0.5, kappa=2.0)
    assert law.pdf(-1.0) == 0.0 and law.cdf(-1.0) == 0.0 and law.sf(-1.0) == 1.0
    assert law.logpdf(-1.0) == -np.inf
    assert law.cdf(np.inf) == 1.0 and law.pdf(np.inf) == 0.0
    assert np.isnan(law.pdf(np.nan))
    q = np.array([-0.5, 0.0, 1.0, 2.0, np.nan])
    out = law.ppf(q)
    assert np.isnan(out[0]) and out[1] == 0.0 and out[2] == np.inf
    assert np.isnan(out[3]) and np.isnan(out[4])


def test_valid_input_never_gives_nan():
    for g, k in [(0.01, 1000.0), (0.99, 0.01), (0.5, 1000.0), (0.01, 0.01)]:
        law = HTMP(gamma=g, kappa=k)
        x = np.concatenate([np.logspace(-300, 300, 601), law.ppf(np.linspace(0.01, 0.99, 5))])
        for method in (law.pdf, law.logpdf, law.cdf, law.sf):
            assert not np.any(np.isnan(method(x))), (g, k, method.__name__)
        assert not np.any(np.isnan(law.ppf(np.linspace(0, 1, 11))))

"""Parameter limits of the Kummer-table laws: huge kappa / c / alpha are refused up front
with an error naming the argument and the accepted range, instead of an O(kappa) table walk
that never ends (kappa = 1e12 used to hang)."""
import numpy as np
import pytest

import htmp
from htmp import HTMP, InverseHTMP
from htmp.laws import TrinhTrinh
from htmp.laws._kummer import ALPHA_MAX, C_MAX, build_table
from htmp.laws.htmp_law import KAPPA_MAX


def test_limits_are_consistent():
    assert KAPPA_MAX == 2 * C_MAX == 1e4
    assert ALPHA_MAX == 1e15


@pytest.mark.parametrize("law", [HTMP, InverseHTMP])
@pytest.mark.parametrize("kappa", [1e4 * (1 + 1e-12), 1e5, 1e12, 1e300])
def test_htmp_kappa_beyond_limit_refused(law, kappa):
    with pytest.raises(ValueError, match=r"kappa must be in \(0, 10000\].*MarchenkoPastur"):
        law(gamma=0.5, kappa=kappa)


def test_htmp_kappa_array_with_one_bad_entry_refused():
    with pytest.raises(ValueError, match="kappa must be in"):
        HTMP(gamma=0.5, kappa=np.array([2.0, 1e6]))


def test_htmp_alpha_beyond_limit_refused():
    # alpha = kappa (1 - gamma) / (2 gamma) - 1 ~ 5e16
    with pytest.raises(ValueError, match="gamma too small for this kappa"):
        HTMP(gamma=1e-13, kappa=1e4)


@pytest.mark.parametrize("kwargs, name", [({"alpha": 1.0, "c": 1e6}, "c"),
                                          ({"alpha": 1e18, "c": 1.0}, "alpha")])
def test_trinh_trinh_limits(kwargs, name):
    with pytest.raises(ValueError, match=rf"{name} must be finite and in"):
        TrinhTrinh(**kwargs)


def test_build_table_refuses_beyond_limits():
    with pytest.raises(ValueError, match=r"c in \(0, 5000\]"):
        build_table(1.0, 1e5)
    with pytest.raises(ValueError, match=r"alpha in \(-1, 1e\+15\]"):
        build_table(1e16, 1.0)


def test_fit_htmp_kappa_max_beyond_limit_refused():
    eigs = np.random.default_rng(0).chisquare(5, 100)
    with pytest.raises(ValueError, match=r"kappa_max <= 10000"):
        htmp.fit_htmp(eigs, gamma=0.5, kappa_max=1e12)


def test_at_the_limit_the_law_works_and_is_close_to_mp():
    # HTMP -> MP at rate O(1/kappa) (MATH.md section 2.2: sup|F - F_MP| ~ 0.5/kappa)
    law = HTMP(gamma=0.5, kappa=KAPPA_MAX)
    y = np.array([0.2, 1.0, 2.0])
    d = np.abs(law.cdf(y) - htmp.MarchenkoPastur(gamma=0.5).cdf(y))
    assert np.all(d < 1e-3) and np.all(d > 0)


def test_compare_kappa_max_beyond_limit_refused():
    from htmp.fitting import compare_mp_htmp
    eigs = np.random.default_rng(0).chisquare(5, 100)
    with pytest.raises(ValueError, match=r"kappa_max must be in \(kappa_min=0.05, 10000\]"):
        compare_mp_htmp(eigs, gamma=0.5, kappa_max=1e9)

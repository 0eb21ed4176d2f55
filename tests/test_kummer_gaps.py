"""Every gap between two centres of a Kummer table is covered by both of its ends: the
series of log w about a centre converges only up to the nearest complex zero of w, which
the walk does not see, so build_table checks the two ends against each other at the middle
of every gap and gives a failing gap a centre of its own.  Before that check the first gap
of the left tail was off by up to 3e-4 in log f."""
import numpy as np
import pytest

from htmp.laws import TrinhTrinh
from htmp.laws._kummer import build_table, bulk_table, _unconverged_gaps


# log f of nu_{alpha,c} at alpha = 134.625, c = 25 (gamma = 40/257, kappa = 50): mpmath 1.3
# hyperu at 30 digits, f = x^a e^-x / (Gamma(c+1) Gamma(c+a+1) |U(c, -a, x e^{-i pi})|^2);
# the same values at 80 digits.  x = 17.5 and 18.2 lie in the first gap of the table.
MPMATH_LOGPDF = [(15.0, -118.32535406521683), (17.5, -101.16316527825865),
                 (18.2, -96.89388884271976), (25.0, -64.11430425926382),
                 (100.0, -5.135892625231923)]


def test_left_tail_first_gap_against_mpmath():
    law = TrinhTrinh(alpha=134.625, c=25.0)
    x, ref = np.array(MPMATH_LOGPDF).T
    got = law.logpdf(x)
    np.testing.assert_allclose(got, ref, rtol=1e-13)


@pytest.mark.parametrize("gamma", [0.02, 40 / 257, 0.3, 0.5, 0.8, 256 / 257])
def test_both_ends_of_every_gap_agree(gamma):
    for kappa in np.exp(np.arange(np.log(0.05), np.log(300), 0.8)):
        alpha, c = kappa * (1 - gamma) / (2 * gamma) - 1, kappa / 2
        for table in (build_table(alpha, c), bulk_table(alpha, c)):
            assert _unconverged_gaps(table).size == 0, (gamma, kappa)

"""Scale: every result for 2^k W (or 2^k times a spectrum) is that for W, with the scale
parameters multiplied by 4^k (2^k), over the whole range where the eigenvalues are float64
numbers; outside it, and for zero, subnormal and non-finite weights, a clear message.

Powers of 2 are exact in floating point, so the scale-free results (labels, kappa, KS,
log-likelihood ratios, exponents) are compared for equality and the scales to the last bit
(or, for log-likelihoods, which move by n k log 4, to 1e-12 relative).
"""
import math
import re

import numpy as np
import pytest

import htmp

W0 = np.random.default_rng(11).standard_normal((60, 150))

# weights 2^k W0: eigenvalues 4^k (0.14 .. 2.6); below k = -505 the smallest leaves the normal
# float64 range (2^-1022), above k = 511 the largest overflows
WEIGHT_KS = [-505, -400, -333, -100, -1, 0, 1, 64, 257, 400, 511]


@pytest.mark.parametrize("k", WEIGHT_KS)
def test_esd_is_exactly_scale_equivariant(k):
    ref = htmp.esd(W0)
    r = htmp.esd(np.ldexp(W0, k))
    np.testing.assert_array_equal(r.eigenvalues, np.ldexp(ref.eigenvalues, 2 * k))
    assert (r.rank, r.n_zero, r.N, r.M) == (ref.rank, ref.n_zero, ref.N, ref.M) == (60, 0, 60, 150)


@pytest.mark.parametrize("dtype, conv", [(np.float32, "flatten"), (np.float64, "slices")])
def test_esd_scale_equivariant_for_float32_and_conv_slices(dtype, conv):
    W = np.random.default_rng(2).standard_normal((12, 8, 3, 3)).astype(dtype)
    ref = htmp.esd(W, conv=conv)
    for k in (-100, 60):         # float32 holds 2^-126 .. 2^128
        r = htmp.esd(np.ldexp(W, k), conv=conv)
        np.testing.assert_array_equal(r.eigenvalues, np.ldexp(ref.eigenvalues, 2 * k))
        assert r.rank == ref.rank


@pytest.mark.parametrize("scale, text", [
    (1e-200, r"the smallest nonzero one is 1.7e-401 \(largest \|entry\| of W 3.83e-200\)"),
    (1e-320, r"the smallest nonzero one is 1.7e-641 \(largest \|entry\| of W 3.83e-320\)"),
    (1e200, r"the largest reaches 2.6e\+400 \(largest \|entry\| of W 3.83e\+200\)"),
])
def test_eigenvalues_outside_float64_are_an_error_naming_w(scale, text):
    with pytest.raises(ValueError, match=r"W's eigenvalues are outside the float64 range "
                                         r"\[2.23e-308, 1.8e\+308\]: " + text):
        htmp.esd(W0 * scale)


def test_esd_does_not_modify_its_input():
    for W in (np.asfortranarray(W0 * 3.0), np.ascontiguousarray(W0 * 3.0)):
        before = W.copy()
        htmp.esd(W)
        np.testing.assert_array_equal(W, before)


# -- fits of a spectrum times 2^k ----------------------------------------------------------
from dataclasses import fields as _fields     # noqa: E402

from hypothesis import given, settings, strategies as st   # noqa: E402

from htmp.fitting import (compare_mp_htmp, fit_htmp, fit_inverse_htmp, fit_invgamma,  # noqa: E402
                          fit_mp, fit_powerlaw, phase)
from htmp.laws import HTMP    # noqa: E402

# HTMP(0.4, 1.5) eigenvalues (0.0055 .. 5.8) and 8 exact zeros (censored by the HTMP fits):
# times 2^k every value stays a normal float64 for k in [-1014, 1021]
GAMMA = 0.4
X0 = np.concatenate([np.zeros(8),
                     HTMP(gamma=GAMMA, kappa=1.5).rvs(300, rng=np.random.default_rng(1))])
EIGEN_KS = [-1014, -1000, -640, -255, -1, 1, 77, 512, 1000, 1021]

# per result type: fields that are scales (x 2^k exactly) and log-likelihoods (+ n k log 1/2)
SCALES = {"MPFit": {"scale", "scale_se", "bulk_min", "bulk_max", "edge_tw", "tw_scale",
                    "threshold", "spikes"},
          "HTMPFit": {"scale", "spikes"}, "Comparison": {"mp_scale", "htmp_scale", "cut"},
          "PowerLawFit": {"xmin", "xmax"}, "InvGammaFit": {"b", "b_se"}, "PhaseResult": set()}
LOGLIKS = {"MPFit": {"loglik"}, "HTMPFit": {"loglik", "loglik_mp"},
           "Comparison": {"loglik_mp", "loglik_htmp"}, "PowerLawFit": {"loglik"},
           "InvGammaFit": {"loglik"}, "PhaseResult": set()}


def _n_density(res) -> int:
    """The number of eigenvalues whose densities make the log-likelihood."""
    return res.n_tail if type(res).__name__ == "PowerLawFit" else res.n_used


def assert_scaled(res, ref, k):
    """res (data 2^k x) against ref (data x): scales x 2^k to the last bit, log-likelihoods
    moved by -n k log 2, everything else (labels, kappa, KS, ratios, exponents) equal."""
    kind = type(ref).__name__
    for f in _fields(ref):
        a, b = getattr(res, f.name), getattr(ref, f.name)
        if f.name in SCALES[kind]:
            b = tuple(math.ldexp(v, k) for v in b) if isinstance(b, tuple) else \
                (math.ldexp(b, k) if math.isfinite(b) else b)
            assert a == b or (a != a and b != b), (f.name, a, b)
        elif f.name in LOGLIKS[kind]:
            assert a == pytest.approx(b - _n_density(ref) * k * math.log(2.0), rel=1e-12,
                                      abs=1e-9), f.name
        else:
            assert a == b or (a != a and b != b), (f.name, a, b)


FITS = {
    "mp": lambda x, s: fit_mp(x, gamma=GAMMA),
    "htmp": lambda x, s: fit_htmp(x, gamma=GAMMA),
    "inverse-htmp": lambda x, s: fit_inverse_htmp(x, gamma=GAMMA),
    "compare": lambda x, s: compare_mp_htmp(x, gamma=GAMMA),
    "powerlaw": lambda x, s: fit_powerlaw(x, min_value=0.01 * s),   # the threshold scales too
    "invgamma": lambda x, s: fit_invgamma(x),
    "phase": lambda x, s: phase(x, gamma=GAMMA),
}
_REF = {}


def _ref(name):
    if name not in _REF:
        _REF[name] = FITS[name](X0, 1.0)
    return _REF[name]


@pytest.mark.parametrize("name", list(FITS))
@pytest.mark.parametrize("k", EIGEN_KS)
def test_fits_of_2k_times_a_spectrum(name, k):
    ref = _ref(name)
    assert ref.status == "ok" if hasattr(ref, "status") else str(ref) == "unresolved"
    assert_scaled(FITS[name](np.ldexp(X0, k), math.ldexp(1.0, k)), ref, k)


@settings(max_examples=30)
@given(k=st.integers(-1014, 1021))
def test_cheap_fits_of_2k_times_a_spectrum_any_k(k):
    for name in ("mp", "powerlaw", "invgamma", "phase"):
        assert_scaled(FITS[name](np.ldexp(X0, k), math.ldexp(1.0, k)), _ref(name), k)


# -- the per-layer table of weights 2^k W -----------------------------------------------------
# mp_* / htmp scales are eigenvalue scales (x 4^k); alpha and xmin are left out: the power-law
# fit keeps WeightWatcher's absolute threshold 1e-5 / M (see test_powerlaw_threshold_...).
TABLE_SCALES = ["mp_scale", "mp_bulk_max", "mp_threshold", "mp_limit_scale", "htmp_scale"]


def test_analysis_table_of_2k_w_is_that_of_w():
    pd = pytest.importorskip("pandas")
    W = np.random.default_rng(4).standard_t(4, (80, 200))      # kappa ~ 38, HTMP fit "ok"
    ks = [0, -509, -400, -1, 1, 300, 510]     # eigenvalues 4^k (0.237 .. 5.22): all normal
    df = htmp.analyze({f"w{i}": np.ldexp(W, k) for i, k in enumerate(ks)}, fits=("mp", "htmp"))
    ref = df.iloc[0]
    assert ref["status"] == "ok" and ref["htmp_status"] == "ok" and math.isfinite(ref["kappa"])
    for i, k in enumerate(ks):
        row = df.iloc[i]
        for col in df.columns:
            a, b = row[col], ref[col]
            if col in ("name", "seconds") or (pd.isna(a) and pd.isna(b)):
                continue
            if col in ("norm", "spectral_norm"):       # M x eigenvalues: NaN beyond float64
                b = math.ldexp(b, 2 * k) if math.frexp(b)[1] + 2 * k <= 1024 else math.nan
                assert a == b or (math.isnan(a) and math.isnan(b)), (k, col, a, b)
                continue
            if col == "message" and math.isnan(row["norm"]):    # and the row says so
                b = "ww_metrics: norm and spectral_norm exceed float64 (see log_norm, " \
                    "log_spectral_norm)"
            if col in ("log_norm", "log_spectral_norm"):    # log10 of those: shifted
                assert a == pytest.approx(b + 2 * k * math.log10(2), rel=1e-13, abs=1e-13)
                continue
            if col in TABLE_SCALES:
                b = math.ldexp(b, 2 * k)
            assert a == b, (k, col, a, b)


def test_zero_and_non_finite_layers_fail_with_a_reason():
    nan_inf = W0.copy()
    nan_inf[0, 0], nan_inf[1, 1], nan_inf[2, 2] = np.nan, np.inf, -np.inf
    df = htmp.analyze({"zero": np.zeros((60, 150)), "nan-inf": nan_inf}).set_index("name")
    assert (df["status"] == "failed").all()
    assert (df["phase"] == "").all() and df["rank"].isna().all()
    msg = df["message"]
    assert msg["zero"] == "ValueError: W is all zero: its ESD is a point mass at 0 (no spectrum " \
                          "to fit)"
    assert msg["nan-inf"] == "ValueError: W must be finite, got 3 NaN/Inf entries"


def test_layers_whose_eigenvalues_are_not_float64_numbers_get_the_scale_free_verdict():
    """Before: weights of 1e-200 gave a zero Gram matrix, rank 0 and "rank-collapse";
    subnormal weights likewise; 1e200 an overflow message about the Gram matrix.  Now the
    layer is analysed as 2^-e W: kappa, the KS distances, alpha and the phase are those of
    W at a representable scale; the columns in units of eigenvalues stay empty."""
    import pandas as pd

    from htmp.analysis._layer import SCALE_COLUMNS
    layers = {"ref": W0, "tiny": np.ldexp(W0, -665), "huge": np.ldexp(W0, 665),
              "subnormal": W0 * 1e-310,      # subnormal entries: ~45 bits of W0's 53 left
              "one-subnormal-entry": np.where(np.arange(150) == 3, 5e-324, 0.0) * np.ones((60, 1))}
    df = htmp.analyze(layers).set_index("name")
    ref = df.loc["ref"]
    assert ref["status"] == "ok" and ref["phase"] != ""
    for name, rtol in (("tiny", 0.0), ("huge", 0.0), ("subnormal", 1e-6)):
        row = df.loc[name]
        assert row["status"] == ref["status"] and row["rank"] == 60, name
        assert row["phase"] == ref["phase"] and row["n_spikes"] == ref["n_spikes"], name
        for col in ("kappa", "kappa_lo", "kappa_hi", "mp_ks", "htmp_ks", "loglik_ratio",
                    "alpha"):
            if not (pd.isna(row[col]) and pd.isna(ref[col])):
                assert row[col] == pytest.approx(ref[col], rel=rtol, abs=0), (name, col)
        assert all(pd.isna(row[c]) for c in SCALE_COLUMNS if c in row.index), name
        assert row["message"].startswith("W's eigenvalues lie beyond float64 (W = 2^"), name
    one = df.loc["one-subnormal-entry"]
    assert one["rank"] == 1 and one["phase"] == "rank-collapse"
    # the library function itself still refuses: ESD values it cannot hold
    with pytest.raises(ValueError, match="W's eigenvalues are outside the float64 range"):
        htmp.esd(W0 * 1e-200)


def test_smallest_representable_weights_are_analysed():
    df = htmp.analyze({"w": np.ldexp(W0, -505)}, fits=("mp", "htmp"))
    assert df.loc[0, "status"] == "ok" and df.loc[0, "rank"] == 60
    assert df.loc[0, "phase"] == htmp.analyze({"w": W0}, fits=("mp", "htmp")).loc[0, "phase"]


def test_powerlaw_threshold_is_weightwatchers_absolute_one_and_says_so():
    """alpha in the table keeps WeightWatcher's EVALS_THRESH (1e-5 before dividing by M):
    absolute, so weights of 2^-505 have no eigenvalue above it; the message says why."""
    row = htmp.analyze({"w": np.ldexp(W0, -505)}).iloc[0]
    assert row["powerlaw_status"] == "failed" and row["status"] == "partial"
    assert "powerlaw: need at least 2 distinct eigenvalues above min_value=6.66667e-08, got 0 " \
           "(WeightWatcher's absolute threshold 1e-5 / M)" in row["message"]


# -- numeric edge cases of the fits ------------------------------------------------------------
def test_inverse_htmp_fit_where_the_law_quantile_underflows():
    """Square-ish MP spectra under InverseHTMP: at the fitted kappa the lower spike quantile
    of X underflows to 0, so the spike cut y = e^t / x is +inf (no spike), not 1/0."""
    from htmp.laws import MarchenkoPastur
    x = MarchenkoPastur(gamma=0.99).rvs(64, rng=np.random.default_rng(0))
    r = fit_inverse_htmp(x, N=64, M=64 / 0.99)
    assert r.status == "ok" and r.n_spikes == 0 and math.isfinite(r.kappa)


# -- degenerate spectra: a point mass is no fit ------------------------------------------------
_Q = np.linalg.qr(np.random.default_rng(1).standard_normal((200, 200)))[0]
DEGENERATE = {"orthogonal": _Q, "orthogonal-float32": _Q.astype(np.float32),
              "rectangular-identity": np.eye(64, 4000), "wide-identity": 3 * np.eye(8, 20000)}
_POINT_MASS = r"degenerate spectrum: the \d+ eigenvalues are all equal \(relative spread " \
              r"\S+ < 0.0001\), a point mass that no law here describes"


@pytest.mark.parametrize("name", list(DEGENERATE))
def test_point_mass_spectra_get_no_fit_and_say_why(name):
    """Before: MP "ok" with KS 0.55-0.82, HTMP "MP-like", alpha ~ 1e15, phase "unresolved"
    with the MP KS as its reason, all with status "ok"."""
    r = htmp.esd(DEGENERATE[name])
    for res in (fit_mp(r), fit_htmp(r), fit_inverse_htmp(r), compare_mp_htmp(r),
                fit_powerlaw(r), fit_invgamma(r)):
        assert res.status == "failed", type(res).__name__
        assert re.fullmatch(_POINT_MASS, res.message), res.message
    assert compare_mp_htmp(r).fit_quality == "poor"
    p = phase(r)
    assert (p.phase, p.fit_quality) == ("unresolved", "poor")
    assert re.fullmatch(_POINT_MASS, p.reason)


def test_point_mass_layer_in_the_table():
    row = htmp.analyze({"w": _Q}).iloc[0]
    assert row["status"] == "partial" and row["phase"] == "unresolved"
    assert row["fit_quality"] == "poor"
    assert (row["mp_status"], row["htmp_status"], row["powerlaw_status"]) == ("failed",) * 3
    assert math.isnan(row["kappa"]) and math.isnan(row["alpha"]) and math.isnan(row["mp_ks"])
    assert "mp: degenerate spectrum: the 200 eigenvalues are all equal" in row["message"]


def test_a_narrow_but_real_spectrum_is_not_degenerate():
    """MP at gamma = 1e-6 is 0.4 % wide: fitted, not called a point mass."""
    from htmp.laws import MarchenkoPastur
    x = MarchenkoPastur(gamma=1e-6).rvs(200, rng=np.random.default_rng(3))
    assert fit_mp(x, gamma=1e-6).status == "ok"
    assert fit_powerlaw(x, min_value=0).status == "ok"


def test_fits_flag_a_poor_fit_beside_status_ok():
    """fit_quality: the KS distance against its 95 % critical value, as in compare_mp_htmp."""
    from htmp.laws import MarchenkoPastur
    good = MarchenkoPastur(gamma=0.5).rvs(400, rng=np.random.default_rng(0))
    heavy = HTMP(gamma=0.5, kappa=0.3).rvs(400, rng=np.random.default_rng(0))
    assert (fit_mp(good, gamma=0.5).status, fit_mp(good, gamma=0.5).fit_quality) == ("ok", "good")
    assert (fit_mp(heavy, gamma=0.5).status, fit_mp(heavy, gamma=0.5).fit_quality) == ("ok", "poor")
    assert fit_htmp(heavy, gamma=0.5).fit_quality == "good"
    from scipy import stats
    ig = stats.invgamma(3.0, scale=2.0).rvs(400, random_state=np.random.default_rng(0))
    assert (fit_invgamma(ig).fit_quality, fit_invgamma(good).fit_quality) == ("good", "poor")


# -- Stieltjes transforms at non-finite z ----------------------------------------------------
@pytest.mark.parametrize("law", [htmp.MarchenkoPastur(gamma=0.5), htmp.HTMP(gamma=0.5, kappa=2.0),
                                 htmp.InverseHTMP(gamma=0.5, kappa=2.0),
                                 htmp.TrinhTrinh(alpha=0.5, c=1.0)], ids=repr)
def test_stieltjes_of_nan_is_nan_and_of_infinity_is_zero(law):
    """scipy-style: NaN in, NaN out, no warning (before: a RuntimeWarning for MP, "repeats may
    not contain negative values" from the HTMP laws); G(z) ~ 1/z -> 0 at infinity."""
    z = np.array([1 + 1j, np.nan, complex(np.nan, 1.0), np.inf, -np.inf, complex(0, np.inf)])
    g = law.stieltjes(z)
    assert g[0] == law.stieltjes(1 + 1j)
    assert np.isnan(g[1:3].real).all() and np.isnan(g[1:3].imag).all()
    np.testing.assert_array_equal(g[3:], 0)
    assert np.isnan(law.stieltjes(np.nan)) and law.stieltjes(np.inf) == 0
    with pytest.raises(TypeError, match="z must be a complex number or an array of them, "
                                        "got 'x'"):
        law.stieltjes("x")


# -- wide and tall layers: no RuntimeWarning reaches the user ------------------------------------
@pytest.mark.parametrize("shape", [(64, 4000), (8, 20000), (4000, 64)])
@pytest.mark.parametrize("k", [-400, 0, 400])
def test_wide_layers_analyse_without_runtime_warnings(shape, k):
    """Before: at 2^400 MP's logpdf and numpy's var overflowed, at 2^-400 a reduction met
    NaN (tall layer); each left a RuntimeWarning on stderr.  Warnings are errors here."""
    import warnings
    W = np.ldexp(np.random.default_rng(0).standard_normal(shape), k)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        row = htmp.analyze({"w": W}).iloc[0]
    assert row["phase"] == "random-like" and row["htmp_status"] in ("mp-like", "too-few")

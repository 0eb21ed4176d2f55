"""kappa_closed_form: Prop G.1 / Cor G.2 / Thm G.3 values (MATH.md 6.2) and input validation."""
import pytest

from htmp.ensembles import BlockDiagonal, FreeEigenvectors, Symmetric
from htmp.repulsion import kappa_closed_form, make_structure


@pytest.mark.parametrize("structure, params, n, expected", [
    ("diagonal", {}, 32, 0.0),                                   # (a): V = 1
    ("block_diagonal", {"block_size": 4}, 32, 32 * 3 / 31),      # (c): N(d-1)/(N-1)
    ("block_diagonal", {"block_size": 10}, 60, 60 * 9 / 59),
    ("symmetric", {}, 64, 64.0),                                 # (e): N
    ("free_eigenvectors", {"k": 8}, 32, 8 * 7 / 31),             # (f): k(k-1)/(N-1)
    ("free-eigenvectors", {"k": 1}, 5, 0.0),
])
def test_closed_forms(structure, params, n, expected):
    assert kappa_closed_form(structure, n=n, **params) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("spec, structure, params", [
    (BlockDiagonal(block_size=8), "block_diagonal", {"block_size": 8}),
    (Symmetric(), "symmetric", {}),
    (FreeEigenvectors(k=5), "free_eigenvectors", {"k": 5}),
])
def test_closed_form_equals_count_of_ensembles_spec(spec, structure, params):
    # two independent computations: |P| counted by htmp.ensembles vs the closed form here
    assert kappa_closed_form(structure, n=64, **params) == pytest.approx(spec.kappa_count(64), rel=1e-15)


@pytest.mark.parametrize("structure, params", [
    ("commuting_block_diagonal", {"block_size": 4}),
    ("kronecker", {"factor_sizes": (8, 4)}),
])
def test_no_closed_form_for_norm_weyl_factors(structure, params):
    with pytest.raises(ValueError, match=r"has no closed-form kappa.*use estimate_kappa"):
        kappa_closed_form(structure, n=32, **params)


@pytest.mark.parametrize("structure, kwargs, message", [
    ("block_diagonal", {"n": 30, "block_size": 4}, r"block_size must divide n=30 \(accepted: divisors of 30\), got 4"),
    ("commuting_block_diagonal", {"n": 32, "block_size": 0}, r"block_size must be an integer in \[1, 32\], got 0"),
    ("kronecker", {"n": 32, "factor_sizes": (4, 4)}, r"factor_sizes must be a pair \(m, d\) of positive integers with m \* d == n=32, got \(4, 4\)"),
    ("kronecker", {"n": 32, "factor_sizes": 7}, r"factor_sizes must be a pair"),
    ("free_eigenvectors", {"n": 10, "k": 11}, r"k must be an integer in \[1, 10\], got 11"),
    ("free_eigenvectors", {"n": 10, "k": 0}, r"k must be an integer in \[1, 10\], got 0"),
    ("toeplitz", {"n": 10}, r"structure must be one of diagonal, commuting_block_diagonal, .*got 'toeplitz'"),
    ("block_diagonal", {"n": 32}, r"structure 'block_diagonal' requires block_size="),
    ("symmetric", {"n": 32, "k": 3}, r"structure 'symmetric' takes parameters none, got unexpected \['k'\]"),
    ("symmetric", {"n": 1}, r"n must be an integer >= 2, got 1"),
])
def test_bad_input_names_argument_and_range(structure, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_structure(structure, **kwargs)
    with pytest.raises(ValueError, match=message):
        kappa_closed_form(structure, **kwargs)

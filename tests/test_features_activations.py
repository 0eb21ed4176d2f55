"""activation_eigvals against a manual forward pass of a tiny MLP (reference: numpy eigvalsh of
Phi^T Phi / n built by hand), regex selection, mode restoring and bad inputs."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from htmp.features import activation_eigvals  # noqa: E402


def _mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 7), torch.nn.Tanh(),
                               torch.nn.Linear(7, 3)).double()


def _manual(model, X):
    W1, b1 = model[0].weight.detach().numpy(), model[0].bias.detach().numpy()
    W2, b2 = model[2].weight.detach().numpy(), model[2].bias.detach().numpy()
    h = X @ W1.T + b1
    a = np.tanh(h)
    return {"0": h, "1": a, "2": a @ W2.T + b2}


@pytest.mark.parametrize("n", [20, 5])  # n > p for every layer; n < p for the hidden ones
def test_matches_manual_forward(n):
    model = _mlp()
    X = np.random.default_rng(1).standard_normal((n, 4))
    got = activation_eigvals(model, torch.as_tensor(X))
    assert list(got) == ["0", "1", "2"]
    for name, phi in _manual(model, X).items():
        p = phi.shape[1]
        ref = np.linalg.eigvalsh(phi.T @ phi / n)  # p eigenvalues, |p - n| of them zero if p > n
        assert got[name].shape == (min(n, p),)
        assert np.all(np.diff(got[name]) >= 0)
        np.testing.assert_allclose(got[name], ref[-min(n, p):], rtol=1e-10, atol=1e-12)


def test_regex_selection_and_numpy_input():
    model = _mlp()
    X = np.random.default_rng(2).standard_normal((30, 4))  # float64 array, model is float64
    got = activation_eigvals(model, X, layers=r"^[02]$")
    assert list(got) == ["0", "2"]
    nested = torch.nn.Sequential(model)  # names "0", "0.0", "0.1", "0.2"
    assert list(activation_eigvals(nested, X)) == ["0.0", "0.1", "0.2"]  # leaves by default
    assert list(activation_eigvals(nested, X, layers=r"^0$")) == ["0"]  # a container, by regex


def test_eval_mode_and_flags_restored():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Dropout(0.5)).double()
    X = torch.randn(25, 4, dtype=torch.float64)
    got = activation_eigvals(model, X)
    np.testing.assert_allclose(got["1"], got["0"], rtol=1e-12)  # dropout off in eval mode
    assert model.training and model[1].training


def test_bad_inputs():
    model = _mlp()
    X = torch.randn(10, 4, dtype=torch.float64)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        activation_eigvals(lambda x: x, X)
    with pytest.raises(TypeError, match="X must be a torch.Tensor or numpy.ndarray"):
        activation_eigvals(model, [[1.0] * 4])
    with pytest.raises(ValueError, match=r"model\(X\) failed for X of shape \(10, 5\)"):
        activation_eigvals(model, torch.randn(10, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="n_samples >= 1"):
        activation_eigvals(model, torch.zeros(0, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="no submodules matching layers='nope'"):
        activation_eigvals(model, X, layers="nope")
    with pytest.raises(ValueError, match="layers must be a valid regular expression"):
        activation_eigvals(model, X, layers="(")
    with torch.no_grad():
        model[0].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="activations of module '0' contain NaN"):
        activation_eigvals(model, X)

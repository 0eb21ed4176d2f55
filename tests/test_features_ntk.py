"""htmp.features.ntk_eigvals against the brute-force torch.func Jacobian (J formed whole)."""
import dataclasses
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch.func import functional_call, jacrev  # noqa: E402

from htmp.features import NTKSpectrum, ntk_eigvals  # noqa: E402
from htmp.features import ntk as _ntk_module  # noqa: E402


@pytest.fixture(autouse=True)
def _fast_paths_on_tiny_models(monkeypatch):
    """These tests check the fast paths on models small enough that, by default, one
    jacrev over every parameter is used instead (ntk.DENSE_BYTES): take the fast paths."""
    monkeypatch.setattr(_ntk_module, "DENSE_BYTES", 0)


def _mlp(dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 9), torch.nn.Tanh(),
                               torch.nn.Linear(9, 4)).to(dtype)


class _CNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 3, 3)
        self.fc = torch.nn.Linear(3 * 4 * 4, 5)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).flatten(1))


def _brute(model, X):
    """Reference: the whole Jacobian from jacrev on the batch, its Gram in float64."""
    params = {k: v.detach() for k, v in model.named_parameters()}
    jac = jacrev(lambda p: functional_call(model, p, (X,)).reshape(-1))(params)
    J = torch.cat([j.reshape(j.shape[0], -1) for j in jac.values()], dim=1).double()
    return np.linalg.eigvalsh((J @ J.T).numpy())


@pytest.mark.parametrize("per_sample", [True, False])
def test_float64_mlp_matches_brute_force(per_sample):
    model = _mlp()
    X = torch.randn(5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    res = ntk_eigvals(model, X, per_sample=per_sample)
    ref = _brute(model, X)
    assert (res.n, res.k, res.n_params) == (5, 4, 6 * 9 + 9 + 9 * 4 + 4)
    assert res.eigenvalues.shape == (20,)
    assert np.all(np.diff(res.eigenvalues) >= 0)
    # float64 both ways: agree to rounding, relative to the largest eigenvalue
    assert np.max(np.abs(res.eigenvalues - ref)) <= 1e-12 * ref[-1]


def test_float32_cnn_matches_brute_force():
    torch.manual_seed(0)
    model = _CNN()
    X = torch.randn(4, 2, 6, 6, generator=torch.Generator().manual_seed(2))
    res = ntk_eigvals(model, X)
    ref = _brute(model, X)   # float32 Jacobian, float64 Gram
    assert res.dtype == "torch.float32" and (res.n, res.k) == (4, 5)
    # the two float32 Jacobians differ by float32 rounding (different op order)
    assert np.max(np.abs(res.eigenvalues - ref)) <= 1e-5 * ref[-1]


def test_chunking_does_not_change_result():
    model = _mlp()
    X = torch.randn(3, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    rows = 3 * 4
    # 1 column per chunk (every tensor sliced), 5 columns (slices and a short tail),
    # 40 columns (small tensors grouped), one chunk for everything
    results = [ntk_eigvals(model, X, max_chunk_bytes=rows * 8 * c, linear_fast=False)
               for c in (1, 5, 40, 10**6)]
    assert [r.n_chunks for r in results] == [103, 22, 4, 1]
    fast = ntk_eigvals(model, X)        # the Linear fast path: no chunk at all
    assert fast.n_chunks == 0 and fast.n_linear_fast == 4
    for r in results[:-1] + [fast]:
        np.testing.assert_allclose(r.eigenvalues, results[-1].eigenvalues, rtol=0,
                                   atol=1e-13 * results[-1].eigenvalues[-1])


def test_batchnorm_in_training_mode_needs_whole_batch_and_is_left_unchanged():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.BatchNorm1d(8),
                                torch.nn.ReLU(), torch.nn.Linear(8, 2)).double().train()
    X = torch.randn(6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    params = {k: v.detach() for k, v in model.named_parameters()}

    def f(p):   # the reference also works on copies of the buffers (updated in place)
        b = {k: v.clone() for k, v in buffers.items()}
        return functional_call(model, (p, b), (X,)).reshape(-1)

    J = torch.cat([j.reshape(12, -1) for j in jacrev(f)(params).values()], dim=1)
    ref = np.linalg.eigvalsh((J @ J.T).numpy())
    res = ntk_eigvals(model, X, per_sample=False, max_chunk_bytes=12 * 8 * 7)
    assert res.n_chunks > 1
    assert np.max(np.abs(res.eigenvalues - ref)) <= 1e-12 * ref[-1]
    for k, v in model.named_buffers():   # running statistics not updated
        assert torch.equal(v, buffers[k]), k
    with pytest.raises(ValueError, match=r"per_sample=True needs BatchNorm layers in eval "
                                         r"mode, got 1 in training mode \(1\): call "
                                         r"model.eval\(\), or pass per_sample=False"):
        ntk_eigvals(model, X)


def test_frozen_result_numpy_input_and_frozen_parameters():
    model = _mlp()
    model[2].weight.requires_grad_(False)        # only trainable parameters count
    X = np.random.default_rng(4).standard_normal((3, 6))
    res = ntk_eigvals(model, X)
    assert isinstance(res, NTKSpectrum) and res.n_params == 6 * 9 + 9 + 4
    assert not res.eigenvalues.flags.writeable
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.n = 1
    assert res.to_dict()["k"] == 4
    assert res.trace == pytest.approx(np.sum(res.eigenvalues))
    assert model[2].weight.grad is None and model[0].weight.grad is None


def test_bad_inputs():
    model = _mlp()
    X = torch.randn(3, 6, dtype=torch.float64)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got function"):
        ntk_eigvals(lambda x: x, X)
    frozen = _mlp().requires_grad_(False)
    with pytest.raises(ValueError, match="at least one trainable parameter"):
        ntk_eigvals(frozen, X)
    with pytest.raises(ValueError, match=r"X of shape \(3, 5\) could not be passed"):
        ntk_eigvals(model, torch.randn(3, 5))
    with pytest.raises(ValueError, match="X must be a batch"):
        ntk_eigvals(model, torch.tensor(1.0))
    with pytest.raises(ValueError, match="X must be finite"):
        ntk_eigvals(model, torch.full((3, 6), float("nan")))
    nan_model = _mlp()
    with torch.no_grad():
        nan_model[2].bias[0] = float("nan")
    with pytest.raises(ValueError, match="outputs on X must be finite"):
        ntk_eigvals(nan_model, X)
    with pytest.raises(ValueError, match="max_chunk_bytes must be a positive integer"):
        ntk_eigvals(model, X, max_chunk_bytes=0)
    with pytest.raises(ValueError, match="device must be one of"):
        ntk_eigvals(model, X, device="tpu")


def test_gram_too_large_is_refused_before_differentiating():
    model = _mlp(torch.float32)
    X = torch.randn(5000, 6)   # n k = 20000: a 3.0 GiB Gram matrix > the 2 GiB default
    with pytest.raises(ValueError, match=r"20000\^2 float64 entries \(2.98 GiB\).*n\*k <= 16384"):
        ntk_eigvals(model, X)
    with pytest.raises(ValueError, match="max_gram_bytes allows"):
        ntk_eigvals(model, X[:10], max_gram_bytes=8 * 39**2)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without CUDA")
def test_cuda_absent_is_a_clear_error():
    with pytest.raises(RuntimeError, match="torch.cuda.is_available"):
        ntk_eigvals(_mlp(), torch.randn(2, 6, dtype=torch.float64), device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu():
    model = _mlp()
    X = torch.randn(4, 6, dtype=torch.float64)
    gpu = ntk_eigvals(model, X, device="cuda", max_chunk_bytes=16 * 8 * 30)
    cpu = ntk_eigvals(model, X)
    np.testing.assert_allclose(gpu.eigenvalues, cpu.eigenvalues, rtol=0,
                               atol=1e-12 * cpu.eigenvalues[-1])


def _run(code: str, env=None) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, check=True, env=env)
    return out.stdout


def test_import_does_not_import_torch():
    assert _run("import sys, htmp, htmp.features; print('torch' in sys.modules)").strip() \
        == "False"


def test_peak_memory_well_below_dense_jacobian():
    """Peak RSS growth during the call (Linux VmHWM, in a fresh process: torch's CPU
    allocations are invisible to tracemalloc) for a 305k-parameter MLP on 20 inputs x 10
    outputs, whose dense float32 Jacobian is 244 MB.  glibc's malloc is told to mmap every
    block over 64 KiB (``MALLOC_MMAP_THRESHOLD_``) so that freed chunks go back to the OS
    and RSS follows live memory; a one-chunk call (the whole J at once) is the control
    that shows the measurement sees torch's allocations."""
    if not sys.platform.startswith("linux"):
        pytest.skip("VmHWM and glibc's MALLOC_MMAP_THRESHOLD_ are Linux-only")
    out = _run("""
        import torch
        from htmp.features import ntk_eigvals

        def hwm():
            for line in open("/proc/self/status"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024

        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(784, 384), torch.nn.ReLU(),
                                    torch.nn.Linear(384, 10))
        X = torch.randn(20, 784)
        ntk_eigvals(model, X[:2], linear_fast=False)   # warm up torch's lazily loaded kernels
        before = hwm()
        chunked = ntk_eigvals(model, X, max_chunk_bytes=16 * 2**20, linear_fast=False)
        grown = hwm() - before
        whole = ntk_eigvals(model, X, max_chunk_bytes=2**30, linear_fast=False)
        n_params = sum(p.numel() for p in model.parameters())
        print(grown, hwm() - before, 200 * n_params * 4, chunked.n_chunks, whole.n_chunks)
    """, env={**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"})
    grown, grown_whole, dense, n_chunks, n_whole = map(int, out.split())
    assert dense > 240e6 and n_chunks > 10 and n_whole == 1
    assert grown_whole > dense                 # the control: J whole is seen
    # 16 MiB of columns + 24 MB of one sliced gradient (measured: 0-40 MB)
    assert grown < dense / 3, (grown, dense)


class _Mixed(torch.nn.Module):
    """Linear layers beside a LayerNorm and a Conv1d (the Jacobian path)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(1, 2, 3)
        self.ln = torch.nn.LayerNorm(16)
        self.fc = torch.nn.Linear(16, 7)
        self.out = torch.nn.Linear(7, 3, bias=False)

    def forward(self, x):
        h = torch.relu(self.conv(x.unsqueeze(1))).flatten(1)     # (n, 2 * 8)
        return self.out(torch.tanh(self.fc(self.ln(h))))


class _Shared(torch.nn.Module):
    """One Linear called twice (two inputs per sample), then a Linear on a sequence."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(6, 16)
        self.b = torch.nn.Linear(16, 16)
        self.o = torch.nn.Linear(16, 3)

    def forward(self, x):
        h = torch.tanh(self.a(x))
        h = torch.relu(self.b(torch.tanh(self.b(h))))
        return self.o(h)


class _Tied(torch.nn.Module):
    """A Linear's weight also used outside its forward: the hooks miss that use."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(6, 6)
        self.o = torch.nn.Linear(6, 3)

    def forward(self, x):
        return self.o(torch.tanh(self.a(x)) @ self.a.weight)


@pytest.mark.parametrize("model, n_fast", [(_mlp(), 4), (_Mixed(), 3), (_Shared(), 6),
                                           (_Tied(), 2)])
def test_linear_fast_path_matches_jacobian_path_and_brute_force(model, n_fast):
    model = model.double()
    X = torch.randn(5, 6 if not isinstance(model, _Mixed) else 10, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(6))
    fast = ntk_eigvals(model, X)
    slow = ntk_eigvals(model, X, linear_fast=False)
    ref = _brute(model, X)
    assert fast.n_linear_fast == n_fast and slow.n_linear_fast == 0
    n_params = sum(p.numel() for p in model.parameters())
    assert fast.n_params == slow.n_params == n_params
    for r in (fast, slow):
        assert np.max(np.abs(r.eigenvalues - ref)) <= 1e-12 * ref[-1]
    if n_fast == 4:     # all of the MLP: no Jacobian chunk at all
        assert fast.n_chunks == 0


def test_linear_fast_path_float32_and_sequence_input_by_per_sample_gradients():
    torch.manual_seed(0)
    model = _CNN()
    X = torch.randn(4, 2, 6, 6, generator=torch.Generator().manual_seed(2))
    res = ntk_eigvals(model, X, conv_fast=False)
    assert res.n_linear_fast == 2 and res.n_conv_fast == 0
    assert np.max(np.abs(res.eigenvalues - _brute(model, X))) <= 1e-5 * res.eigenvalues[-1]

    # Linear(3, 8) on 2 positions: its per-sample gradients (n k T P + (n k)^2 P = 2880
    # flops) are cheaper than the structured sum over pairs of positions (3900 flops)
    class Seq(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.o = torch.nn.Linear(3, 8), torch.nn.Linear(8, 2)

        def forward(self, x):
            return self.o(torch.tanh(self.a(x.view(x.shape[0], 2, 3))).mean(1))

    model = Seq().double()
    X = torch.randn(5, 6, dtype=torch.float64)
    res = ntk_eigvals(model, X)
    assert res.n_linear_fast == 4 and res.n_chunks == 0
    assert np.max(np.abs(res.eigenvalues - _brute(model, X))) <= 1e-12 * res.eigenvalues[-1]


def test_linear_fast_path_on_sequence_input_and_unused_layer():
    class Seq(torch.nn.Module):      # Linear(16, 16) on 2 positions: fast; one unused
        def __init__(self):
            super().__init__()
            self.a, self.o = torch.nn.Linear(16, 16), torch.nn.Linear(16, 2)
            self.unused = torch.nn.Linear(3, 3)

        def forward(self, x):
            return self.o(torch.tanh(self.a(x.view(x.shape[0], 2, 16))).mean(1))

    torch.manual_seed(0)
    model = Seq().double()
    X = torch.randn(4, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    res = ntk_eigvals(model, X)
    assert res.n_linear_fast == 4 and res.n_chunks == 1      # the unused layer: Jacobian
    assert np.max(np.abs(res.eigenvalues - _brute(model, X))) <= 1e-12 * res.eigenvalues[-1]


def test_tiny_models_take_one_jacobian_chunk_by_default(monkeypatch):
    """Up to DENSE_BYTES of Jacobian the default is one jacrev chunk (as fast as the dense
    recipe there); the fast path, forced, gives the same eigenvalues."""
    monkeypatch.setattr(_ntk_module, "DENSE_BYTES", 16 * 2**20)
    model = _mlp()
    X = torch.randn(5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    auto = ntk_eigvals(model, X)
    assert auto.n_linear_fast == 0 and auto.n_chunks == 1
    forced = ntk_eigvals(model, X, linear_fast=True)
    assert forced.n_linear_fast == 4 and forced.n_chunks == 0
    np.testing.assert_allclose(auto.eigenvalues, forced.eigenvalues, rtol=0,
                               atol=1e-13 * forced.eigenvalues[-1])
    monkeypatch.setattr(_ntk_module, "DENSE_BYTES", 0)      # above the bound: fast path
    assert ntk_eigvals(model, X).n_linear_fast == 4


def test_rounding_level_negatives_are_zeros_for_the_fits():
    """A float32 NTK Gram has eigenvalues down to about -n k eps32 lambda_max (its products
    run in float32): the fits take them as zeros; the same value is an error in float64."""
    from htmp.features import fit_feature_spectrum
    lam = np.sort(np.random.default_rng(0).gamma(2.0, 1.0, 400))
    lam[0] = -1e-6 * lam[-1]                     # within 400 * 1.2e-7 * lambda_max
    spec32 = NTKSpectrum(eigenvalues=lam, n=40, k=10, n_params=1000, n_chunks=1,
                         per_sample=True, dtype="torch.float32", device="cpu")
    assert spec32.tol == pytest.approx(400 * np.finfo(np.float32).eps * lam[-1])
    fits = fit_feature_spectrum(spec32)
    assert fits.n == 400 and np.all(fits.eigenvalues >= 0)
    spec64 = dataclasses.replace(spec32, dtype="torch.float64")
    with pytest.raises(ValueError, match="must be >= 0 .*got minimum -"):
        fit_feature_spectrum(spec64)

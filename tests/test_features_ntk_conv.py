"""The convolution fast path of htmp.features.ntk_eigvals against the brute-force Jacobian."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.func import functional_call, jacrev, vmap  # noqa: E402

from htmp.features import ntk_eigvals  # noqa: E402
from htmp.features import _ntk_conv  # noqa: E402
from htmp.features import ntk as _ntk_module  # noqa: E402


@pytest.fixture(autouse=True)
def _fast_paths_on_tiny_models(monkeypatch):
    """These tests check the fast paths on models small enough that, by default, one
    jacrev over every parameter is used instead (ntk.DENSE_BYTES): take the fast paths."""
    monkeypatch.setattr(_ntk_module, "DENSE_BYTES", 0)


def _gram(model, X):
    """Reference: the whole Jacobian from jacrev on the batch, its Gram in float64 (on
    copies of the buffers: BatchNorm in training mode updates them in place)."""
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = dict(model.named_buffers())

    def f(p):
        b = {k: v.clone() for k, v in buffers.items()}
        return functional_call(model, (p, b), (X,)).reshape(-1)

    jac = jacrev(f)(params)
    J = torch.cat([j.reshape(j.shape[0], -1) for j in jac.values()], dim=1).double()
    return J @ J.T


def _brute(model, X):
    return np.linalg.eigvalsh(_gram(model, X).numpy())


class _Head(nn.Module):
    """``conv`` then tanh, flattened, then a Linear to 3 outputs."""

    def __init__(self, conv, x_shape):
        super().__init__()
        self.conv = conv
        with torch.no_grad():
            flat = conv(torch.zeros(1, *x_shape, dtype=conv.weight.dtype)).numel()
        self.fc = nn.Linear(flat, 3).to(conv.weight.dtype)

    def forward(self, x):
        return self.fc(torch.tanh(self.conv(x)).flatten(1))


CONVS = {   # name: (conv, one input's shape)
    "2d stride 2, padding 1": (lambda: nn.Conv2d(2, 4, 3, stride=2, padding=1), (2, 7, 6)),
    "2d dilation 2, groups 2": (lambda: nn.Conv2d(4, 6, (2, 3), dilation=2, groups=2),
                                (4, 7, 8)),
    "2d same, even kernel": (lambda: nn.Conv2d(3, 2, (4, 2), padding="same",
                                               dilation=(1, 2)), (3, 5, 6)),
    "2d circular, no bias": (lambda: nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular",
                                               bias=False), (2, 5, 5)),
    "2d depthwise, reflect": (lambda: nn.Conv2d(3, 6, 3, groups=3, padding=(1, 2),
                                                padding_mode="reflect"), (3, 4, 5)),
    "1d stride 2, dilation 2": (lambda: nn.Conv1d(2, 5, 3, stride=2, dilation=2, padding=2),
                                (2, 11)),
    "1d groups 2, same": (lambda: nn.Conv1d(4, 4, 4, groups=2, padding="same"), (4, 9)),
    "1d valid, output of 1": (lambda: nn.Conv1d(3, 4, 5, padding="valid"), (3, 5)),
}


# torch's own forward warns on "same" with an even kernel (a padded copy of the input)
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")
@pytest.mark.parametrize("name", list(CONVS))
def test_conv_fast_path_matches_brute_force(name):
    make, shape = CONVS[name]
    torch.manual_seed(0)
    conv = make().double()
    model = _Head(conv, shape)
    X = torch.randn(4, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    fast = ntk_eigvals(model, X)
    slow = ntk_eigvals(model, X, conv_fast=False, linear_fast=False)
    ref = _brute(model, X)
    n_conv = 1 if conv.bias is None else 2
    assert (fast.n_conv_fast, fast.n_linear_fast, fast.n_chunks) == (n_conv, 2, 0)
    assert slow.n_conv_fast == 0 and slow.n_chunks >= 1
    # float64 both ways: agree to rounding, relative to the largest eigenvalue
    for r in (fast, slow):
        assert np.max(np.abs(r.eigenvalues - ref)) <= 1e-12 * ref[-1], name


def _layer(conv, shape, n=3, seed=2):
    """The conv of a _Head as the fast path sees it (checked), and the reference Gram of
    its own parameters."""
    torch.manual_seed(seed)
    model = _Head(conv.double(), shape)
    X = torch.randn(n, *shape, dtype=torch.float64)
    params = dict(model.named_parameters())
    base = {k: v.detach() for k, v in params.items()}
    cands = _ntk_conv.candidates(model, params, torch, linear=False, conv=True)
    (layer,) = _ntk_conv.gradients(model, cands, base, {}, X, 3, 2**20, torch)
    conv_params = {k: v for k, v in base.items() if k.startswith("conv.")}

    def f(p):
        return functional_call(model, {**base, **p}, (X,)).reshape(-1)

    J = torch.cat([j.reshape(3 * n, -1) for j in jacrev(f)(conv_params).values()], dim=1)
    return layer, J @ J.T


@pytest.mark.parametrize("conv, shape", [
    (nn.Conv2d(4, 6, 2, groups=2, stride=(1, 2)), (4, 3, 4)),
    (nn.Conv1d(2, 3, 3, bias=False, dilation=2), (2, 7)),
])
def test_structured_and_per_sample_ways_agree_with_the_jacobian(conv, shape):
    """Both ways of forming a convolution's Gram block, on the same layer, whatever the
    cost rule would pick; and a tiny chunk bound (one channel per block)."""
    layer, ref = _layer(conv, shape)
    assert layer.T > 1
    rows = ref.shape[0]
    for add in (lambda G: _ntk_conv.add_structured(G, layer, torch),
                lambda G: _ntk_conv.add_per_sample(G, layer, 2**20, torch),
                lambda G: _ntk_conv.add_per_sample(G, layer, 8, torch)):
        G = torch.zeros(rows, rows, dtype=torch.float64)
        add(G)
        upper = torch.triu(G)
        assert torch.allclose(upper, torch.triu(ref), rtol=0, atol=1e-13 * ref.abs().max())


def test_cost_rule_picks_the_cheaper_way():
    layer, _ = _layer(nn.Conv2d(4, 6, 2, groups=2), (4, 3, 3))     # T = 4 positions
    structured, per_sample = layer.costs(3, 3)
    # n k T = 36 rows, P = 48 weights: 36^2 (6 + 2) + (n T)^2 16 against n k T P + (n k)^2 P
    assert (structured, per_sample) == (36**2 * 8 + 12**2 * 16, 9 * 4 * 48 + 81 * 48)
    assert structured > per_sample


class _ConvBNNet(nn.Module):
    """Conv2d -> BatchNorm2d -> ReLU -> Conv1d over rows -> Linear; ``drop`` for dropout."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.c2 = nn.Conv1d(4 * 6, 5, 3, stride=2)
        self.fc = nn.Linear(5 * 3, 4)

    def forward(self, x):
        h = torch.relu(self.bn(self.c1(x)))                    # (n, 4, 6, 7)
        h = h.reshape(x.shape[0], 4 * 6, 7)
        return self.fc(torch.tanh(self.c2(h)).flatten(1))


def test_conv_bn_linear_model_in_eval_and_train_mode():
    torch.manual_seed(0)
    model = _ConvBNNet().double()
    with torch.no_grad():      # running statistics that differ from any batch's
        model.bn.running_mean.uniform_(-0.5, 0.5)
        model.bn.running_var.uniform_(0.5, 2.0)
    X = torch.randn(5, 2, 6, 7, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(3))
    model.eval()
    res = ntk_eigvals(model, X)
    ref = _brute(model, X)
    assert (res.n_conv_fast, res.n_linear_fast) == (4, 2) and res.n_chunks == 1   # bn
    assert np.max(np.abs(res.eigenvalues - ref)) <= 1e-12 * ref[-1]
    assert not model.training and not model.bn.training

    # training mode: per_sample=True is refused before any work (batch statistics of a
    # batch of one would update the running ones; torch's vmap failed deep inside),
    # per_sample=False differentiates the whole batch; the running statistics are not updated
    model.train()
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    for kw in ({}, {"conv_fast": False, "linear_fast": False}):
        with pytest.raises(ValueError, match=r"per_sample=True needs BatchNorm layers in eval "
                                             r"mode, got 1 in training mode \(bn\)"):
            ntk_eigvals(model, X, **kw)
    res = ntk_eigvals(model, X, per_sample=False)
    ref = _brute(model, X)
    assert res.n_conv_fast == res.n_linear_fast == 0
    assert np.max(np.abs(res.eigenvalues - ref)) <= 1e-12 * ref[-1]
    assert model.training
    for k, v in model.named_buffers():
        assert torch.equal(v, buffers[k]), k


def test_batchnorm_without_running_statistics_turns_the_fast_path_off():
    """BatchNorm with track_running_stats=False normalises with the batch's statistics even
    in eval mode; per_sample=True then normalises each sample alone in every layer."""
    torch.manual_seed(0)
    model = _ConvBNNet().double()
    model.bn = nn.BatchNorm2d(4, track_running_stats=False).double()
    model.eval()
    X = torch.randn(5, 2, 6, 7, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(3))
    res = ntk_eigvals(model, X)
    assert res.n_conv_fast == res.n_linear_fast == 0
    params = {k: v.detach() for k, v in model.named_parameters()}

    def one(p, x):   # the per-sample reference: each sample as a batch of one
        return functional_call(model, p, (x.unsqueeze(0),)).reshape(-1)

    jac = vmap(jacrev(one), (None, 0))(params, X)
    J = torch.cat([j.reshape(5 * 4, -1) for j in jac.values()], dim=1)
    ref = np.linalg.eigvalsh((J @ J.T).numpy())
    assert np.max(np.abs(res.eigenvalues - ref)) <= 1e-12 * ref[-1]


def test_float32_cnn_and_small_chunks():
    """float32: agreement to float32 rounding; a chunk bound so small that every layer is
    its own memory group and every block one channel gives the same eigenvalues."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 8, 3, groups=2), nn.ReLU(), nn.Flatten(),
                          nn.Linear(8 * 2 * 2, 5))
    X = torch.randn(6, 3, 8, 8, generator=torch.Generator().manual_seed(4))
    ref = _brute(model, X)
    res = ntk_eigvals(model, X)
    tiny = ntk_eigvals(model, X, max_chunk_bytes=64)
    assert res.n_conv_fast == tiny.n_conv_fast == 4
    for r in (res, tiny):
        # float32 Jacobian entries and float32 Gram products over <= 4096 columns
        assert np.max(np.abs(r.eigenvalues - ref)) <= 1e-5 * ref[-1]
    np.testing.assert_allclose(tiny.eigenvalues, res.eigenvalues, rtol=0,
                               atol=1e-6 * ref[-1])


class _Outside(nn.Module):
    """A conv whose weight is also used outside its forward: the hooks miss that use."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv1d(2, 2, 1)
        self.o = nn.Linear(2 * 5, 2)

    def forward(self, x):
        h = torch.tanh(self.c(x))
        h = h + torch.einsum("oi,nil->nol", self.c.weight[:, :, 0], x)
        return self.o(h.flatten(1))


def test_conv_used_outside_its_forward_falls_back_and_unused_conv_is_skipped():
    torch.manual_seed(0)
    model = _Outside().double()
    model.unused = nn.Conv2d(1, 1, 1).double()
    X = torch.randn(4, 2, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    res = ntk_eigvals(model, X)
    assert res.n_conv_fast == 0 and res.n_linear_fast == 2 and res.n_chunks == 1
    assert np.max(np.abs(res.eigenvalues - _brute(model, X))) <= 1e-12 * res.eigenvalues[-1]


@pytest.mark.slow
def test_peak_memory_well_below_dense_jacobian_for_a_cnn():
    """As test_features_ntk's MLP memory test, for a CNN whose dense float32 Jacobian is
    about 180 MB (3x3 convs up to 128 channels on 12 x 12 inputs): the fast path holds
    the output gradients of one layer and one block of Jacobian rows at a time."""
    if not sys.platform.startswith("linux"):
        pytest.skip("VmHWM and glibc's MALLOC_MMAP_THRESHOLD_ are Linux-only")
    code = textwrap.dedent("""
        import torch
        from torch import nn
        from htmp.features import ntk_eigvals
        torch.set_num_threads(1)

        def hwm():
            for line in open("/proc/self/status"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024

        torch.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(),
                              nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(),
                              nn.Conv2d(128, 128, 3, padding=1), nn.ReLU(),
                              nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(512, 10))
        X = torch.randn(20, 3, 12, 12)
        ntk_eigvals(model, X[:2])          # warm up torch's lazily loaded kernels
        before = hwm()
        res = ntk_eigvals(model, X, max_chunk_bytes=16 * 2**20)
        n_params = sum(p.numel() for p in model.parameters())
        print(hwm() - before, 200 * n_params * 4, res.n_conv_fast)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"})
    grown, dense, n_conv = map(int, out.stdout.split())
    assert n_conv == 6 and dense > 150e6
    assert grown < dense / 3, (grown, dense)

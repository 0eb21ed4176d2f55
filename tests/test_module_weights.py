"""Every weight of a module: MultiheadAttention, GPT-2 Conv1D, raw 2-D parameters; a module
and its state dict give the same rows, in the model's order."""
import numpy as np
import pandas as pd
import pytest

import htmp
import htmp.nn as hnn

torch = pytest.importorskip("torch")
nn = torch.nn


class Conv1D(nn.Module):
    """A stand-in for transformers' GPT-2 Conv1D (transformers is not needed): weight (in, out)."""

    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.randn(nx, nf) * 0.02)
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        return torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.zeta = nn.Linear(24, 24)               # registered first, named last
        self.attn = nn.MultiheadAttention(24, 4)
        self.cross = nn.MultiheadAttention(24, 4, kdim=16, vdim=12)
        self.c_fc = Conv1D(48, 24)
        self.table = nn.Parameter(torch.randn(40, 24))   # a raw 2-D parameter
        self.alpha = nn.Embedding(50, 24)
        self.register_buffer("pos", torch.randn(30, 24))  # 2-D float buffer: not trained


@pytest.fixture(scope="module")
def block():
    torch.manual_seed(0)
    return Block()


EXPECTED = [
    ("zeta.weight", "linear", (24, 24)),
    ("attn.in_proj_weight", "linear", (72, 24)),
    ("attn.out_proj.weight", "linear", (24, 24)),
    ("cross.q_proj_weight", "linear", (24, 24)),
    ("cross.k_proj_weight", "linear", (24, 16)),
    ("cross.v_proj_weight", "linear", (24, 12)),
    ("cross.out_proj.weight", "linear", (24, 24)),
    ("c_fc.weight", "linear_t", (24, 48)),
    ("table", "tensor", (40, 24)),
    ("alpha.weight", "embedding", (50, 24)),
]


def test_every_weight_in_module_order(block):
    specs = hnn.weight_specs(block)
    got = [(s.name, s.kind, s.shape) for s in specs if not s.skip]
    assert got[0][0] == "table"     # the root's own parameter comes first (state-dict order)
    assert got[1:] == [e for e in EXPECTED if e[0] != "table"]
    skipped = [(s.name, s.skip) for s in specs if s.skip]
    assert [n for n, _ in skipped] == ["pos"]
    assert "buffer of Block, not a trained parameter" in skipped[0][1]


def test_module_and_state_dict_agree(block):
    a = htmp.analyze(block, fits=("mp",))
    b = htmp.analyze(block.state_dict(), fits=("mp",))
    assert list(a["name"]) == list(b["name"])
    assert list(a["name"]) == [k for k, v in block.state_dict().items() if v.ndim == 2]
    ok = a["status"] == "ok"
    cols = ["shape", "N", "M", "n_evals", "rank", "mp_scale", "mp_bulk_max", "n_spikes"]
    pd.testing.assert_frame_equal(a.loc[ok, cols].reset_index(drop=True),
                                  b.loc[ok, cols].reset_index(drop=True))
    # only the buffer differs: skipped from the module, analysed from the state dict
    assert list(a.loc[~ok, "name"]) == ["pos"] and list(b["status"]) == ["ok"] * len(b)
    types = dict(zip(a["name"], a["type"]))
    assert types["c_fc.weight"] == "linear_t" and types["attn.in_proj_weight"] == "linear"
    assert set(b["type"]) == {"tensor"}


def test_gpt2_conv1d_spectrum_is_that_of_its_transpose(block):
    w = {x.name: x.array for x in hnn.iter_weights(block)}["c_fc.weight"]
    ev = htmp.esd(w).eigenvalues
    np.testing.assert_allclose(ev, htmp.esd(np.ascontiguousarray(w.T)).eigenvalues, rtol=1e-6)
    assert w.shape == (24, 48)


def test_rows_follow_module_order_not_name_order():
    torch.manual_seed(1)
    m = nn.Sequential()
    m.add_module("b", nn.Linear(8, 8))
    m.add_module("a", nn.Linear(8, 8))
    m.add_module("c10", nn.Linear(8, 8))
    m.add_module("c2", nn.Linear(8, 8))
    names = list(htmp.analyze(m, fits=("mp",))["name"])
    assert names == ["b.weight", "a.weight", "c10.weight", "c2.weight"]
    assert names == list(htmp.analyze(m.state_dict(), fits=("mp",))["name"])


def test_tied_weight_listed_under_both_names():
    emb = nn.Embedding(20, 8)
    head = nn.Linear(8, 20, bias=False)
    head.weight = emb.weight
    m = nn.Sequential(emb, head)
    specs = hnn.weight_specs(m)
    assert [(s.name, s.kind) for s in specs] == [("0.weight", "embedding"),
                                                  ("1.weight", "linear")]
    assert [s.name for s in specs] == list(m.state_dict())

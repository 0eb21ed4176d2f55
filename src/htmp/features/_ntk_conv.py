"""The layer fast path of :func:`htmp.features.ntk_eigvals`: ``nn.Linear``, ``nn.Conv1d`` and
``nn.Conv2d`` Gram blocks from layer inputs and output gradients, without ``jacrev``.

Each of these layers computes, at each of T output positions t of sample i, ``y_{i,t} =
W u_{i,t} + b``: u is the layer input (Linear; T counts the positions of an input with extra
dims) or the patch of input under the kernel (convolution, ``F.unfold``; one weight block
per group).  With g_{i,c,t} = d f_{i,c} / d y_{i,t} (k backward passes through one forward of
the whole batch, outputs of sample i depending on input i only), the Jacobian rows are

    weight: J_{(i,c)} = sum_t g_{i,c,t} u_{i,t}ᵀ        bias: sum_t g_{i,c,t}

and a layer's Gram block is added to G one of two ways, whichever costs fewer flops:

* **structured**: ``sum_{t,s} (g_{i,c,t}·g_{j,d,s}) (u_{i,t}·u_{j,s} + 1)`` (per group),
  products in float64; about ``(n k T)^2 (out + groups) + (n T)^2 in`` flops and an
  ``(n k T)^2`` float64 block, allowed when that block fits in ``max_chunk_bytes``;
* **per-sample gradients**: the rows ``J_{(i,c)}`` formed by batched matmuls (one per
  sample), in bounded blocks of output and input channels, then ``G += J Jᵀ``; about
  ``n k T P + (n k)^2 P`` flops for P weights.  The Gram products run in the model's dtype
  over at most :data:`GRAM_COLS` columns at a time and are summed into the float64 G.

Each layer is first checked against the true gradient of a random projection of the
outputs; a layer whose weight is also used outside its ``forward`` (the hooks miss that use),
a subclass with a different ``forward``, or one never called on the batch fails the check
or is skipped, and takes the Jacobian path of :mod:`htmp.features.ntk` instead.
"""
from __future__ import annotations

GRAM_COLS = 4096    # columns per Gram product in the model's dtype (summed in float64)


def _owner_counts(model) -> dict:
    owners: dict = {}
    for mod in {id(m): m for _, m in model.named_modules(remove_duplicate=False)}.values():
        for p in mod._parameters.values():
            if p is not None:
                owners[id(p)] = owners.get(id(p), 0) + 1
    return owners


def candidates(model, params: dict, torch, *, linear: bool, conv: bool) -> list:
    """``(module, weight name, bias name or None)`` for each Linear / Conv1d / Conv2d layer
    (as asked) whose weight is trainable and whose parameters belong to no other module
    (tied weights fall back)."""
    kinds = (((torch.nn.Linear,) if linear else ())
             + ((torch.nn.Conv1d, torch.nn.Conv2d) if conv else ()))
    if not kinds:
        return []
    owners = _owner_counts(model)
    out = []
    for name, mod in model.named_modules():
        if not isinstance(mod, kinds):
            continue
        pre = f"{name}." if name else ""
        w, b = pre + "weight", pre + "bias"
        if w not in params or params[w] is not mod.weight:
            continue
        if owners.get(id(mod.weight), 0) != 1:
            continue
        if mod.bias is not None and owners.get(id(mod.bias), 0) != 1:
            continue
        out.append((mod, w, b if b in params and params[b] is mod.bias else None))
    return out


def _pad_amounts(mod) -> list:
    """``F.pad`` amounts (last dim first) that reproduce the convolution's own padding."""
    ks, dil = mod.kernel_size, mod.dilation
    if mod.padding == "valid":
        return [0] * (2 * len(ks))
    if mod.padding == "same":     # as ATen: the odd extra element on the right
        pads = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(ks, dil)]
    else:
        pads = [(p, p) for p in mod.padding]
    return [a for lr in reversed(pads) for a in lr]


def patches(mod, x, c0: int, c1: int, torch):
    """The layer inputs u of input channels ``[c0, c1)`` at every output position:
    ``(n, (c1 - c0) * kernel size, T)``, channel-major (the weight's layout)."""
    import torch.nn.functional as F

    n = x.shape[0]
    if isinstance(mod, torch.nn.Linear):
        return x[..., c0:c1].reshape(n, -1, c1 - c0).transpose(1, 2)
    x = x[:, c0:c1]
    mode = "constant" if mod.padding_mode == "zeros" else mod.padding_mode
    x = F.pad(x, _pad_amounts(mod), mode=mode)
    if isinstance(mod, torch.nn.Conv1d):
        return F.unfold(x.unsqueeze(2), (1, *mod.kernel_size), dilation=(1, *mod.dilation),
                        stride=(1, *mod.stride))
    return F.unfold(x, mod.kernel_size, dilation=mod.dilation, stride=mod.stride)


class Layer:
    """One fast-path layer on the batch: its inputs ``xs`` (one per call), its output
    gradients ``g`` (a list of k tensors (n, out, T), one per output c: stacking them would
    copy them all) and its shapes."""

    def __init__(self, mod, w: str, b, xs: list, torch):
        self.mod, self.w, self.b, self.xs = mod, w, b, xs
        self.is_linear = isinstance(mod, torch.nn.Linear)
        self.groups = 1 if self.is_linear else mod.groups
        self.out_ch = mod.weight.shape[0]
        self.in_ch = mod.weight.shape[1] * self.groups     # input channels (features)
        self.kernel = mod.weight[0, 0].numel() if not self.is_linear else 1
        self.n_weights = mod.weight.numel()
        self.g = None

    def units(self, y):
        """(n, out, T) view of one output y."""
        n = y.shape[0]
        if self.is_linear:
            return y.reshape(n, -1, y.shape[-1]).transpose(1, 2)
        return y.reshape(n, y.shape[1], -1)

    def u(self, c0: int, c1: int, torch):
        """Patches of input channels [c0, c1) over all calls: (n, (c1-c0) kernel, T)."""
        us = [patches(self.mod, x, c0, c1, torch) for x in self.xs]
        return us[0] if len(us) == 1 else torch.cat(us, dim=2)

    @property
    def T(self) -> int:
        return self.g[0].shape[-1]

    def costs(self, n: int, k: int) -> tuple[float, float]:
        """Flops of the (structured, per-sample-gradient) ways."""
        rows, inp = n * k * self.T, self.in_ch * self.kernel
        structured = rows**2 * (self.out_ch + self.groups) + (n * self.T) ** 2 * inp
        per_sample = n * k * self.T * self.n_weights + (n * k) ** 2 * self.n_weights
        return structured, per_sample


def _close(fast, true, tol: float, torch) -> bool:
    if true is None:
        return bool(fast.abs().max() == 0) if fast.numel() else True
    true = true.to(fast.dtype)
    scale = max(float(true.abs().max()), float(fast.abs().max()), 1e-300)
    return float((fast - true).abs().max()) <= tol * scale


def _channel_blocks(total: int, groups: int, width: int) -> list:
    """``(group, c0, c1)``: runs of at most ``width`` channels inside each group."""
    per = total // groups
    width = max(1, min(per, width))
    return [(gi, c0, min(c0 + width, (gi + 1) * per))
            for gi in range(groups) for c0 in range(gi * per, (gi + 1) * per, width)]


def check(layer: Layer, v, true_w, true_b, max_chunk_bytes: int, torch) -> bool:
    """Does ``sum_{i,c} v_{i,c} J_{(i,c)}`` from g and u equal the true gradient?"""
    dt = layer.g[0].dtype
    tol = 1e-9 if dt == torch.float64 else 1e3 * torch.finfo(dt).eps
    v = v.to(dt)
    gv = layer.g[0] * v[:, 0, None, None]                                  # (n, out, T)
    for c in range(1, len(layer.g)):
        gv.addcmul_(layer.g[c], v[:, c, None, None])
    if layer.b is not None and not _close(gv.sum((0, 2)), true_b, tol, torch):
        return False
    n, T = gv.shape[0], gv.shape[2]
    out_g = layer.out_ch // layer.groups
    width = max_chunk_bytes // max(1, gv.element_size() * n * T * layer.kernel)
    true_w = true_w.reshape(layer.out_ch, -1) if true_w is not None else None
    for gi, c0, c1 in _channel_blocks(layer.in_ch, layer.groups, width):
        u = layer.u(c0, c1, torch)
        gw = torch.einsum("not,nit->oi", gv[:, gi * out_g:(gi + 1) * out_g], u)
        lo = (c0 - gi * (layer.in_ch // layer.groups)) * layer.kernel
        ref = (true_w[gi * out_g:(gi + 1) * out_g, lo:lo + gw.shape[1]]
               if true_w is not None else None)
        if not _close(gw, ref, tol, torch):
            return False
    return True


def gram_add(G, J, torch, row_blocks: int = 4) -> None:
    """Upper triangle of ``G += J Jᵀ`` (G float64): products in J's dtype over at most
    :data:`GRAM_COLS` columns at a time, on ``row_blocks`` block rows ``G[i:i+s, i:]``."""
    rows = J.shape[0]
    s = -(-rows // row_blocks)
    for a in range(0, J.shape[1], GRAM_COLS):
        blk = J[:, a:a + GRAM_COLS]
        for i in range(0, rows, s):
            G[i:i + s, i:].add_(blk[i:i + s] @ blk[i:].T)


def add_structured(G, layer: Layer, torch) -> None:
    """``G += sum_{t,s} (g_{i,c,t}·g_{j,d,s}) (u_{i,t}·u_{j,s} + 1)``, per group, float64."""
    g = torch.stack(layer.g, dim=1)     # (n, k, out, T): small here (8 (n k T)^2 bounded)
    n, k, _, T = g.shape
    out_g, in_g = layer.out_ch // layer.groups, layer.in_ch // layer.groups
    one = 1.0 if layer.b is not None else 0.0    # summed over groups: the bias term
    for gi in range(layer.groups):
        gm = (g[:, :, gi * out_g:(gi + 1) * out_g].transpose(2, 3).reshape(n * k * T, out_g)
              .to(torch.float64))
        um = (layer.u(gi * in_g, (gi + 1) * in_g, torch).transpose(1, 2)
              .reshape(n * T, -1).to(torch.float64))
        blk = (gm @ gm.T).view(n, k, T, n, k, T)
        blk.mul_((um @ um.T).add_(one).view(n, 1, T, n, 1, T))
        G.add_(blk.sum((2, 5)).reshape(n * k, n * k))


def add_per_sample(G, layer: Layer, max_chunk_bytes: int, torch) -> None:
    """Form the Jacobian rows of the weight (and bias) a block of channels at a time and
    add their Gram to the upper triangle of G."""
    g = layer.g
    k = len(g)
    n, _, T = g[0].shape
    item = g[0].element_size()
    out_g = layer.out_ch // layer.groups
    if layer.b is not None:
        gram_add(G, torch.stack([gc.sum(2) for gc in g], dim=1).view(n * k, -1), torch)
    width = max_chunk_bytes // max(1, item * n * T * layer.kernel)
    for gi, c0, c1 in _channel_blocks(layer.in_ch, layer.groups, width):
        u = layer.u(c0, c1, torch).transpose(1, 2)                 # (n, T, in block)
        cols = u.shape[2]
        step = max(1, min(out_g, max_chunk_bytes // max(1, item * n * k * (cols + T))))
        for o in range(gi * out_g, (gi + 1) * out_g, step):
            o1 = min(o + step, (gi + 1) * out_g)
            a = torch.stack([gc[:, o:o1] for gc in g], dim=1).view(n, k * (o1 - o), T)
            J = torch.bmm(a, u).view(n * k, (o1 - o) * cols)
            gram_add(G, J, torch)
            del J, a
        del u


def _usable(mod, x, y, n: int, torch) -> bool:
    if not y.requires_grad or x.shape[0] != n:
        return False
    if isinstance(mod, torch.nn.Linear):
        return x.ndim >= 2
    return x.ndim == (3 if isinstance(mod, torch.nn.Conv1d) else 4)


def _output_sizes(model, cands, state, x1, torch) -> list:
    """Entries of each candidate's outputs (all its calls) for one sample."""
    from torch.func import functional_call

    sizes = {id(m): 0 for m, _, _ in cands}

    def hook(mod, args, out):
        sizes[id(mod)] += out[0].numel() if out.ndim else 1

    handles = [m.register_forward_hook(hook) for m, _, _ in cands]
    try:
        with torch.no_grad():
            functional_call(model, state, (x1,))
    finally:
        for h in handles:
            h.remove()
    return [sizes[id(m)] for m, _, _ in cands]


def memory_groups(model, cands, state, X, k: int, itemsize: int, max_chunk_bytes: int,
                  torch) -> list:
    """Candidates in runs whose output gradients (n k entries per output entry) fit in
    ``max_chunk_bytes`` together (a layer larger than that alone)."""
    sizes = _output_sizes(model, cands, state, X[:1], torch)
    per = X.shape[0] * k * itemsize
    groups, cur, used = [], [], 0
    for cand, size in zip(cands, sizes, strict=True):
        if cur and used + size * per > max_chunk_bytes:
            groups.append(cur)
            cur, used = [], 0
        cur.append(cand)
        used += size * per
    return groups + [cur] if cur else groups


def _forward(model, grp, base: dict, buffers: dict, X, k: int, torch):
    """One forward of the batch with the group's layers hooked: ``(out (n, k), leaves,
    {id(module): (inputs, outputs)})``."""
    from torch.func import functional_call

    leaves = {name: base[name].detach().clone().requires_grad_(True)
              for _, w, b in grp for name in (w, b) if name is not None}
    seen = {id(m): ([], []) for m, _, _ in grp}

    def hook(mod, args, out):
        xs, ys = seen[id(mod)]
        xs.append(args[0].detach())
        out = out.clone()   # what follows may work in place: keep y as the layer made it
        ys.append(out)
        return out

    handles = [m.register_forward_hook(hook) for m, _, _ in grp]
    try:
        with torch.enable_grad():
            bufs = {name: v.clone() for name, v in buffers.items()}
            out = functional_call(model, ({**base, **leaves}, bufs), (X,))
    finally:
        for h in handles:
            h.remove()
    return out.reshape(X.shape[0], k), leaves, seen


def gradients(model, grp, base: dict, buffers: dict, X, k: int, max_chunk_bytes: int,
              torch) -> list:
    """The group's usable layers with their output gradients g (n, k, out, T), each checked
    against the true gradient of ``sum(v * out)`` for a fixed random v."""
    n = X.shape[0]
    out, leaves, seen = _forward(model, grp, base, buffers, X, k, torch)
    layers, ys = [], []
    for mod, w, b in grp:
        xs, yl = seen[id(mod)]
        if xs and all(_usable(mod, x, y, n, torch) for x, y in zip(xs, yl, strict=True)):
            layers.append(Layer(mod, w, b, xs, torch))
            ys.append(yl)
    if not layers:
        return []
    flat = [y for yl in ys for y in yl]
    g = [list(torch.autograd.grad(out[:, c].sum(), flat, retain_graph=True,
                                  allow_unused=True)) for c in range(k)]
    v = torch.randn(n, k, dtype=out.dtype, device=out.device,
                    generator=torch.Generator(device=out.device).manual_seed(0))
    names = [nm for ly in layers for nm in (ly.w, ly.b) if nm is not None]
    true = dict(zip(names, torch.autograd.grad((out * v).sum(), [leaves[nm] for nm in names],
                                               allow_unused=True), strict=True))
    del out
    ok, u0 = [], 0
    for ly, yl in zip(layers, ys, strict=True):
        per_c = []
        for c in range(k):
            parts = [ly.units(torch.zeros_like(y) if gr is None else gr)
                     for gr, y in zip(g[c][u0:u0 + len(yl)], yl, strict=True)]
            g[c][u0:u0 + len(yl)] = [None] * len(yl)
            per_c.append(parts[0] if len(parts) == 1 else torch.cat(parts, dim=2))
        u0 += len(yl)
        ly.g = per_c
        if check(ly, v, true[ly.w], true.get(ly.b), max_chunk_bytes, torch):
            ok.append(ly)
        else:
            ly.g = None
    return ok


def batch_coupled(model, torch) -> bool:
    """Does a BatchNorm normalise with the batch's statistics (training mode, or no running
    statistics)?  Then one forward of the whole batch is not n forwards of one sample."""
    from torch.nn.modules.batchnorm import _BatchNorm

    return any(isinstance(m, _BatchNorm) and (m.training or m.running_mean is None)
               for m in model.modules())


def layer_fast(model, params: dict, base: dict, buffers: dict, X, G, k: int,
               max_chunk_bytes: int, torch, *, linear: bool, conv: bool) -> tuple:
    """Add the Gram blocks of the layers that allow it to G (the structured way adds the
    whole block, the per-sample way its upper triangle) and return the names of the
    parameters so handled: ``(Linear names, convolution names)``.  None with a BatchNorm
    that couples the samples: ``per_sample=True`` then normalises each sample alone, as
    the Jacobian path does, in every layer."""
    done = (set(), set())
    if batch_coupled(model, torch):
        return done
    cands = candidates(model, params, torch, linear=linear, conv=conv)
    if not cands:
        return done
    n = X.shape[0]
    itemsize = base[cands[0][1]].element_size()
    for grp in memory_groups(model, cands, (base, buffers), X, k, itemsize, max_chunk_bytes,
                             torch):
        for ly in gradients(model, grp, base, buffers, X, k, max_chunk_bytes, torch):
            structured, per_sample = ly.costs(n, k)
            T = ly.T
            small = (8 * (n * k * T) ** 2 <= max_chunk_bytes
                     and 8 * n * T * ly.in_ch * ly.kernel <= max_chunk_bytes)
            if T == 1 or (small and structured <= per_sample):
                add_structured(G, ly, torch)
            else:
                add_per_sample(G, ly, max_chunk_bytes, torch)
            ly.g = None
            done[0 if ly.is_linear else 1].update(nm for nm in (ly.w, ly.b) if nm is not None)
    return done

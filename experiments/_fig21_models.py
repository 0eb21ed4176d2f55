"""Narrow VGG11-, ResNet9- and ResNet18-style networks for experiments/fig21_feature_spectra.py.

The paper's Fig. 2.1 uses VGG11 (9.2M parameters), ResNet9 (4.8M) and ResNet18 (11.1M) on
CIFAR-10.  These are the same layer patterns with every channel count divided by
``64 / width`` (``width=8``: 8 ... 64 channels where the originals have 64 ... 512), in
1-D (mnist1d sequences) or 2-D (images), with PyTorch's standard layers and He
initialisation (``kaiming_normal_``, fan-in, ReLU gain; biases 0; BatchNorm weight 1, bias 0),
drawn from a ``torch.Generator`` seeded by ``seed``.

* VGG11: conv-BN-ReLU blocks of 1, 2, 4, 4, 8, 8, 8, 8 x ``width`` channels with a max-pool
  after blocks 1, 2, 4, 6 and 8 as in VGG11, skipped once the feature map would drop below
  2 pixels (16x16 or length-40 inputs); flatten; one linear classifier.
* ResNet9 (the DAWNBench network): prep conv, (conv + pool + residual pair), (conv + pool),
  (conv + pool + residual pair), global max-pool, linear; no output scaling.
* ResNet18 (the CIFAR variant: 3x3 stem, no stem max-pool): 4 stages of 2 basic blocks,
  strides 1, 2, 2, 2, global average pool, linear.

Each model has a module named ``last`` (an ``nn.Identity``) on the last hidden feature
map, before pooling and the classifier: its output is the "penultimate-layer activation".
"""
from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["ARCHITECTURES", "make_model", "n_params"]

ARCHITECTURES = ("vgg11", "resnet9", "resnet18")


def _ops(dim: int):
    if dim == 1:
        return nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d
    return nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d


def _cbr(dim, c_in, c_out, stride=1):
    conv, bn, _ = _ops(dim)
    return [conv(c_in, c_out, 3, stride=stride, padding=1, bias=False), bn(c_out),
            nn.ReLU()]


class VGG(nn.Module):
    """VGG11 layout at ``width`` base channels (module docstring)."""

    CFG = (1, "M", 2, "M", 4, 4, "M", 8, 8, "M", 8, 8, "M")

    def __init__(self, dim, c_in, n_classes, width, size):
        super().__init__()
        layers, c = [], c_in
        for v in self.CFG:
            if v == "M":
                if size // 2 >= 2:
                    layers.append(_ops(dim)[2](2))
                    size //= 2
                continue
            layers += _cbr(dim, c, v * width)
            c = v * width
        self.features = nn.Sequential(*layers)
        self.last = nn.Identity()
        self.classifier = nn.Linear(c * size ** dim, n_classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.last(self.features(x)), 1))


class _Residual(nn.Module):
    """x + f(x), f two conv-BN-ReLU blocks (ResNet9's residual pair)."""

    def __init__(self, dim, c):
        super().__init__()
        self.f = nn.Sequential(*_cbr(dim, c, c), *_cbr(dim, c, c))

    def forward(self, x):
        return x + self.f(x)


class ResNet9(nn.Module):
    """The DAWNBench ResNet9 layout at ``width`` base channels."""

    def __init__(self, dim, c_in, n_classes, width):
        super().__init__()
        pool = _ops(dim)[2]
        w = width
        self.body = nn.Sequential(
            *_cbr(dim, c_in, w),
            *_cbr(dim, w, 2 * w), pool(2), _Residual(dim, 2 * w),
            *_cbr(dim, 2 * w, 4 * w), pool(2),
            *_cbr(dim, 4 * w, 8 * w), pool(2), _Residual(dim, 8 * w))
        self.last = nn.Identity()
        self.pool = nn.AdaptiveMaxPool1d(1) if dim == 1 else nn.AdaptiveMaxPool2d(1)
        self.fc = nn.Linear(8 * w, n_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.last(self.body(x))), 1))


class _Basic(nn.Module):
    """ResNet's basic block: two 3x3 conv-BN, identity or 1x1-conv shortcut, ReLU."""

    def __init__(self, dim, c_in, c_out, stride):
        super().__init__()
        conv, bn, _ = _ops(dim)
        self.f = nn.Sequential(*_cbr(dim, c_in, c_out, stride),
                               conv(c_out, c_out, 3, padding=1, bias=False), bn(c_out))
        self.short = nn.Identity() if stride == 1 and c_in == c_out else nn.Sequential(
            conv(c_in, c_out, 1, stride=stride, bias=False), bn(c_out))
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.f(x) + self.short(x))


class ResNet18(nn.Module):
    """The CIFAR ResNet18 layout at ``width`` base channels."""

    def __init__(self, dim, c_in, n_classes, width):
        super().__init__()
        blocks, c = list(_cbr(dim, c_in, width)), width
        for i, mult in enumerate((1, 2, 4, 8)):
            for j in range(2):
                stride = 2 if i > 0 and j == 0 else 1
                blocks.append(_Basic(dim, c, mult * width, stride))
                c = mult * width
        self.body = nn.Sequential(*blocks)
        self.last = nn.Identity()
        self.pool = nn.AdaptiveAvgPool1d(1) if dim == 1 else nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, n_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.last(self.body(x))), 1))


def _he_init(model: nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu",
                                        generator=g)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.weight.fill_(1.0)
                m.bias.zero_()


def make_model(arch: str, *, input_shape: tuple, n_classes: int, width: int,
               seed: int) -> nn.Module:
    """A He-initialised ``arch`` network for inputs of shape ``(channels, *spatial)``.

    ``input_shape``: (C, L) for 1-D or (C, H, W) with H == W for 2-D; ``width``: base
    channels (8 for 1/8 of the originals' 64).
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"arch must be one of {ARCHITECTURES}, got {arch!r}")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be an integer >= 1 (base channels), got {width!r}")
    if len(input_shape) not in (2, 3) or (len(input_shape) == 3
                                          and input_shape[1] != input_shape[2]):
        raise ValueError(f"input_shape must be (C, L) or (C, H, H), got {input_shape!r}")
    dim, c_in, size = len(input_shape) - 1, int(input_shape[0]), int(input_shape[1])
    if size < 8:
        raise ValueError(f"the inputs' spatial size must be >= 8 (three 2x poolings), "
                         f"got {size}")
    if arch == "vgg11":
        model = VGG(dim, c_in, n_classes, width, size)
    elif arch == "resnet9":
        model = ResNet9(dim, c_in, n_classes, width)
    else:
        model = ResNet18(dim, c_in, n_classes, width)
    _he_init(model, seed)
    return model


def n_params(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


if __name__ == "__main__":        # a size check: parameters per architecture at width 8
    for a in ARCHITECTURES:
        for shape in ((1, 16, 16), (1, 40)):
            m = make_model(a, input_shape=shape, n_classes=10, width=8, seed=0)
            print(a, shape, n_params(m), round(math.log10(n_params(m)), 2))

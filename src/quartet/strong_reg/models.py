"""Models without batch-norm (BN makes L2 on the preceding weights scale-invariant and hides the effect),
with dropout in the classifier, as the paper's nets had. PyTorch default initialization throughout: the
tolerance level depends on the initial scale of the loss gradient.

* :class:`VGG` - stacks of 3x3 convolutions and 2x2 max-pools; ``VGG.small`` is the reference ``digits_cnn``
  (conv 32-32-M-64-64-M, FC 128, 98,848 weights on 8x8 input), ``VGG.vgg9`` a deeper one for 28x28 and 32x32
  (conv 32-32-M-64-64-M-128-128-M, FC 256-256 by default), ``VGG.vgg16`` the CIFAR VGG-16 (15.2 M).
* :class:`AlexNet` - the cuda-convnet CIFAR AlexNet: two 5x5 conv + 3/2 max-pool stages, FC 384-192-C.
* :class:`MLP` - ``depth`` hidden ReLU layers of ``width`` units; deep ones collapse first.

Every model derives its flattened size from ``input_shape`` so one definition serves 8x8, 28x28 and 32x32.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from quartet.common.validation import check_choice, check_float, check_int, fail

__all__ = ["VGG", "AlexNet", "MLP", "build_model", "MODELS", "VGG_CONFIGS"]

VGG_CONFIGS: dict[str, tuple[int | str, ...]] = {
    "small": (32, 32, "M", 64, 64, "M"),
    "vgg9": (32, 32, "M", 64, 64, "M", 128, 128, "M"),
    "vgg11": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
}


def _check_shape(input_shape: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        fail("input_shape", input_shape, "must be (channels, height, width) with positive sizes")
    return shape  # type: ignore[return-value]


def _flat_size(features: nn.Module, input_shape: tuple[int, int, int]) -> int:
    with torch.no_grad():
        return int(features(torch.zeros(1, *input_shape)).numel())



def _classifier(in_features: int, hidden: Sequence[int], num_classes: int, dropout: float) -> nn.Sequential:
    """The fully connected head shared by the CNNs: Linear-ReLU-Dropout per hidden width, then the logits."""
    head: list[nn.Module] = []
    prev = in_features
    for h in hidden:
        h = check_int("hidden", h, min=1)
        head += [nn.Linear(prev, h), nn.ReLU(inplace=True), nn.Dropout(dropout)]
        prev = h
    head.append(nn.Linear(prev, num_classes))
    return nn.Sequential(*head)

class VGG(nn.Module):
    """VGG-style net: 3x3 conv (padding 1) + ReLU stages, 2x2 max-pools, then FC-ReLU-dropout layers."""

    def __init__(self, input_shape: Sequence[int] = (1, 8, 8), num_classes: int = 10,
                 config: str | Sequence[int | str] = "small", hidden: Sequence[int] = (128,),
                 dropout: float = 0.5) -> None:
        super().__init__()
        shape = _check_shape(input_shape)
        num_classes = check_int("num_classes", num_classes, min=2)
        dropout = check_float("dropout", dropout, min=0.0, max=1.0, max_inclusive=False)
        layout = VGG_CONFIGS[check_choice("config", config, tuple(VGG_CONFIGS))] if isinstance(config, str) \
            else tuple(config)
        layers: list[nn.Module] = []
        channels, size = shape[0], min(shape[1:])
        for item in layout:
            if item == "M":
                if size < 2:  # small inputs cannot take every pool of a deep config
                    continue
                layers.append(nn.MaxPool2d(2))
                size //= 2
            else:
                out = check_int("config entry", item, min=1)
                layers += [nn.Conv2d(channels, out, 3, padding=1), nn.ReLU(inplace=True)]
                channels = out
        self.features = nn.Sequential(*layers)
        self.classifier = _classifier(_flat_size(self.features, shape), hidden, num_classes, dropout)

    @classmethod
    def small(cls, input_shape: Sequence[int] = (1, 8, 8), num_classes: int = 10) -> "VGG":
        return cls(input_shape, num_classes, "small", (128,))

    @classmethod
    def vgg9(cls, input_shape: Sequence[int] = (1, 28, 28), num_classes: int = 10, width: int = 256) -> "VGG":
        """Six 3x3 convolutions in three stages and FC ``width``-``width``: nine weight layers (without batch-norm,
        deeper nets collapse at a smaller lam: the failure the gates address)."""
        return cls(input_shape, num_classes, "vgg9", (width, width))

    @classmethod
    def vgg16(cls, input_shape: Sequence[int] = (3, 32, 32), num_classes: int = 10) -> "VGG":
        return cls(input_shape, num_classes, "vgg16", (512, 512))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


class AlexNet(nn.Module):
    """CIFAR AlexNet (cuda-convnet layout): conv5x5-64, pool 3/2, conv5x5-64, pool 3/2, FC 384, 192, C."""

    def __init__(self, input_shape: Sequence[int] = (3, 32, 32), num_classes: int = 10, width: int = 64,
                 hidden: Sequence[int] = (384, 192), dropout: float = 0.5) -> None:
        super().__init__()
        shape = _check_shape(input_shape)
        num_classes = check_int("num_classes", num_classes, min=2)
        width = check_int("width", width, min=1)
        dropout = check_float("dropout", dropout, min=0.0, max=1.0, max_inclusive=False)
        self.features = nn.Sequential(
            nn.Conv2d(shape[0], width, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, padding=1),
            nn.Conv2d(width, width, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, padding=1),
        )
        self.classifier = _classifier(_flat_size(self.features, shape), hidden, num_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


class MLP(nn.Module):
    """``depth`` hidden layers of ``width`` ReLU units on the flattened input (no dropout by default)."""

    def __init__(self, input_shape: Sequence[int] = (1, 8, 8), num_classes: int = 10, depth: int = 2,
                 width: int = 256, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__()
        shape = _check_shape(input_shape)
        num_classes = check_int("num_classes", num_classes, min=2)
        depth = check_int("depth", depth, min=0)
        width = check_int("width", width, min=1)
        dropout = check_float("dropout", dropout, min=0.0, max=1.0, max_inclusive=False)
        layers: list[nn.Module] = [nn.Flatten()]
        prev = shape[0] * shape[1] * shape[2]
        for _ in range(depth):
            layers += [nn.Linear(prev, width, bias=bias), nn.ReLU(inplace=True)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            prev = width
        layers.append(nn.Linear(prev, num_classes, bias=bias))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


MODELS = ("mlp", "vgg", "vgg9", "vgg16", "alexnet")


def build_model(name: str, input_shape: Sequence[int], num_classes: int, *, depth: int = 2,
                width: int = 256) -> nn.Module:
    """``mlp`` (``depth`` hidden layers of ``width``), ``vgg`` (small VGG, the reference CNN), ``vgg9`` (its two
    FC layers ``width`` wide), ``vgg16``, ``alexnet``."""
    name = check_choice("model", name, MODELS)
    if name == "mlp":
        return MLP(input_shape, num_classes, depth=depth, width=width)
    if name == "vgg":
        return VGG.small(input_shape, num_classes)
    if name == "vgg9":
        return VGG.vgg9(input_shape, num_classes, width=width)
    if name == "vgg16":
        return VGG.vgg16(input_shape, num_classes)
    return AlexNet(input_shape, num_classes)

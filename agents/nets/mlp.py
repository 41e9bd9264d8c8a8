"""Multi-layer perceptrons and the flattening encoder for vector observations."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU, "gelu": nn.GELU}


def activation(name: str) -> type[nn.Module]:
    """The activation class called ``name`` (relu, tanh, elu, gelu)."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation '{name}'; valid: {', '.join(ACTIVATIONS)}") from None


class MLP(nn.Module):
    """Fully connected layers ``in_dim -> hidden[0] -> ... -> hidden[-1] (-> out_dim)``.

    Args:
        in_dim: input features [-].
        hidden: widths of the hidden layers, each followed by the activation [-].
        out_dim: optional linear output layer (no activation) [-].
        act: activation name (relu, tanh, elu, gelu).
    """

    def __init__(self, in_dim: int, hidden: Sequence[int] = (64, 64), out_dim: int | None = None, act: str = "relu") -> None:
        super().__init__()
        layers: list[nn.Module] = []
        last = in_dim
        for width in hidden:
            layers += [nn.Linear(last, int(width)), activation(act)()]
            last = int(width)
        if out_dim is not None:
            layers.append(nn.Linear(last, out_dim))
            last = out_dim
        self.net = nn.Sequential(*layers)
        self.out_dim = last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class FlattenMLPEncoder(nn.Module):
    """Encoder for Box/Discrete/MultiBinary observations: flatten (or one-hot a
    discrete index), cast to float, then an ``MLP`` (identity when ``hidden`` is empty).

    Args:
        in_dim: flattened observation size (``n`` for one-hot discrete) [-].
        hidden: hidden widths [-].
        act: activation name.
        one_hot: number of categories when the observation is a discrete index, else 0.
        scale: multiply inputs by this (1/255 for uint8 non-image boxes) [-].
    """

    def __init__(self, in_dim: int, hidden: Sequence[int] = (64, 64), act: str = "relu", one_hot: int = 0, scale: float = 1.0) -> None:
        super().__init__()
        self.one_hot = one_hot
        self.scale = scale
        self.mlp = MLP(in_dim, hidden, act=act)
        self.feature_dim = self.mlp.out_dim if hidden else in_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.one_hot:
            x = nn.functional.one_hot(x.long().reshape(x.shape[0]), self.one_hot).float()
        else:
            x = x.reshape(x.shape[0], -1).float()
            if self.scale != 1.0:
                x = x * self.scale
        return self.mlp(x)

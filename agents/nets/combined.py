"""Encoders for ``Dict`` observations: one encoder per key, features concatenated."""

from __future__ import annotations

from typing import Mapping

import torch
from torch import nn


class DictEncoder(nn.Module):
    """Apply ``encoders[key]`` to ``obs[key]`` and concatenate along the feature axis
    (keys in sorted order, so the layout does not depend on dict order)."""

    def __init__(self, encoders: Mapping[str, nn.Module], dims: Mapping[str, int]) -> None:
        super().__init__()
        self.keys = sorted(encoders)
        self.encoders = nn.ModuleDict({key: encoders[key] for key in self.keys})
        self.feature_dim = int(sum(dims[key] for key in self.keys))

    def forward(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([self.encoders[key](obs[key]) for key in self.keys], dim=1)

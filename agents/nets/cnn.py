"""The Nature-DQN convolutional encoder (Mnih et al. 2015) for stacked frames."""

from __future__ import annotations

import torch
from torch import nn


class NatureCNN(nn.Module):
    """Conv 32x8x8 s4 -> 64x4x4 s2 -> 64x3x3 s1 -> flatten -> Linear(features_dim), ReLU.

    Input ``(B, C, H, W)``; integer (uint8) pixels are scaled to [0, 1] by /255, float
    inputs are used as they are. For 4 stacked 84x84 frames the flattened size is
    64*7*7 = 3136; other sizes are computed with a dry run.

    Args:
        in_channels: stacked frames x colour channels [-].
        height, width: input size [px].
        features_dim: width of the final fully connected layer [-].
        channels_last: the input arrives as ``(B, H, W, C)`` and is permuted.
    """

    def __init__(self, in_channels: int, height: int = 84, width: int = 84, features_dim: int = 512, channels_last: bool = False) -> None:
        super().__init__()
        self.channels_last = channels_last
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, 32, kernel_size=8, stride=4),
            nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=4, stride=2),
            nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, stride=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            flat = self.conv(torch.zeros(1, in_channels, height, width)).shape[1]
        self.fc = nn.Sequential(nn.Linear(flat, features_dim), nn.ReLU())
        self.feature_dim = features_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            x = x.permute(0, 3, 1, 2)
        x = x.float() / 255.0 if not torch.is_floating_point(x) else x
        return self.fc(self.conv(x))

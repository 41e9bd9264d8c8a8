"""Residual convolutional trunks (AlphaZero-style), plain PyTorch, no torchvision.

``ResNet`` keeps the spatial size: a 3x3 convolution stem with batch norm and ReLU,
then ``blocks`` residual blocks of two 3x3 convolutions with batch norm. It maps
``(B, in_channels, H, W) -> (B, channels, H, W)``; heads (policy/value, pooling) are
added by the user. ``ResNetEncoder`` adds global average pooling and returns a flat
feature vector, for use as a backbone of DQN/A2C on image observations.
"""

from __future__ import annotations

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a skip connection; keeps the shape."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(x + y)


class ResNet(nn.Module):
    """Residual trunk: ``(B, in_channels, H, W) -> (B, channels, H, W)`` (same H, W).

    Args:
        in_channels: number of input planes [-].
        channels: width of every convolution [-].
        blocks: number of residual blocks after the stem [-].
    """

    def __init__(self, in_channels: int, channels: int = 64, blocks: int = 4) -> None:
        super().__init__()
        if in_channels <= 0 or channels <= 0 or blocks < 0:
            raise ValueError(f"ResNet needs in_channels > 0, channels > 0, blocks >= 0; got {in_channels}, {channels}, {blocks}")
        self.in_channels = in_channels
        self.channels = channels
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
        )
        self.blocks = nn.Sequential(*(ResidualBlock(channels) for _ in range(blocks)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(x))


class ResNetEncoder(nn.Module):
    """``ResNet`` followed by global average pooling: ``(B, C, H, W) -> (B, channels)``.

    ``channels_last`` inputs ``(B, H, W, C)`` are permuted first. Integer (uint8) inputs are scaled to [0, 1] by dividing by 255.
    """

    def __init__(self, in_channels: int, channels: int = 32, blocks: int = 2, channels_last: bool = False) -> None:
        super().__init__()
        self.channels_last = channels_last
        self.trunk = ResNet(in_channels, channels, blocks)
        self.feature_dim = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            x = x.permute(0, 3, 1, 2)
        if not torch.is_floating_point(x):
            x = x.float() / 255.0
        return self.trunk(x).mean(dim=(2, 3))

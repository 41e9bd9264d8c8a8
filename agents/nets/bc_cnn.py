"""The behavioural-cloning CNN of the deep-learning text's CarRacing chapter: three
convolutions and two fully connected layers, with batch normalisation and dropout.

Same convolution geometry as the Nature DQN (8x8 stride 4, 4x4 stride 2, 3x3 stride 1),
each followed by batch norm and ELU, dropout on the convolutional features; then a hidden
fully connected layer (batch norm, ELU, dropout) and the output layer. Batch norm and
dropout make the network behave differently in training and evaluation: call ``eval()``
before acting.
"""

from __future__ import annotations

import torch
from torch import nn


class BCCNN(nn.Module):
    """``(B, C, H, W)`` images -> ``(B, out_dim)`` logits (or regression outputs).

    Integer (uint8) pixels are scaled to [0, 1] by /255; float inputs are used as they are.

    Args:
        in_channels: input planes (colour channels, raster channels, stacked frames) [-].
        height, width: input size [px] (at least 36 x 36).
        out_dim: outputs: one per discrete action, or the continuous action's size [-].
        hidden: width of the hidden fully connected layer [units].
        dropout: dropout probability after the convolutions and the hidden layer [-].
        channels_last: the input arrives as ``(B, H, W, C)`` and is permuted.
    """

    def __init__(self, in_channels: int, height: int, width: int, out_dim: int, hidden: int = 256,
                 dropout: float = 0.3, channels_last: bool = False) -> None:
        super().__init__()
        if min(height, width) < 36:
            raise ValueError(f"BCCNN needs images of at least 36x36 px, got {height}x{width}")
        self.channels_last = channels_last
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, 32, kernel_size=8, stride=4),
            nn.BatchNorm2d(32),
            nn.ELU(),
            nn.Conv2d(32, 64, kernel_size=4, stride=2),
            nn.BatchNorm2d(64),
            nn.ELU(),
            nn.Conv2d(64, 64, kernel_size=3, stride=1),
            nn.BatchNorm2d(64),
            nn.ELU(),
            nn.Flatten(),
            nn.Dropout(dropout),
        )
        with torch.no_grad():
            flat = self.conv(torch.zeros(2, in_channels, height, width)).shape[1]
        self.fc = nn.Sequential(
            nn.Linear(flat, hidden),
            nn.BatchNorm1d(hidden),
            nn.ELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, out_dim),
        )
        self.out_dim = out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            x = x.permute(0, 3, 1, 2)
        x = x.float() / 255.0 if not torch.is_floating_point(x) else x
        return self.fc(self.conv(x))

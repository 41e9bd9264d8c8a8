"""The policy-value network (AlphaZero's f_theta) and its numpy-facing wrapper.

``PolicyValueNet``: the residual trunk ``agents.nets.resnet.ResNet`` followed by
* a policy head: 1x1 conv to 2 planes, batch norm, ReLU, linear to ``n_actions`` logits;
* a value head: 1x1 conv to 1 plane, batch norm, ReLU, linear to ``value_hidden``, ReLU,
  linear to 1, tanh -> value in [-1, 1] for the player to move.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from agents.nets.resnet import ResNet


class PolicyValueNet(nn.Module):
    """``(B, C, H, W) -> (policy logits (B, n_actions), value (B,))``."""

    def __init__(self, input_shape: tuple[int, int, int], n_actions: int, channels: int = 64, blocks: int = 4, value_hidden: int = 64) -> None:
        super().__init__()
        planes, rows, cols = input_shape
        self.trunk = ResNet(planes, channels, blocks)
        self.policy_head = nn.Sequential(
            nn.Conv2d(channels, 2, 1, bias=False), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(2 * rows * cols, n_actions)
        )
        self.value_head = nn.Sequential(
            nn.Conv2d(channels, 1, 1, bias=False), nn.BatchNorm2d(1), nn.ReLU(), nn.Flatten(),
            nn.Linear(rows * cols, value_hidden), nn.ReLU(), nn.Linear(value_hidden, 1), nn.Tanh(),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.trunk(x)
        return self.policy_head(features), self.value_head(features).squeeze(-1)


class Evaluator:
    """Batched inference for the search: numpy planes and legal masks in, priors and values out."""

    def __init__(self, net: PolicyValueNet) -> None:
        self.net = net
        self.calls = 0
        self.positions = 0

    @torch.no_grad()
    def __call__(self, planes: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """planes (B, C, H, W) float32, masks (B, n_actions) bool -> priors (B, n_actions)
        summing to 1 over legal actions, values (B,) for the player to move."""
        self.net.eval()
        logits, values = self.net(torch.from_numpy(np.ascontiguousarray(planes, dtype=np.float32)))
        logits = logits.masked_fill(~torch.from_numpy(np.asarray(masks, dtype=bool)), float("-inf"))
        priors = torch.softmax(logits, dim=-1).nan_to_num(0.0)
        self.calls += 1
        self.positions += len(planes)
        return priors.numpy(), values.numpy()


def train_step(net: PolicyValueNet, optimizer: torch.optim.Optimizer, planes: np.ndarray, policies: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """One gradient step on (state, search policy, outcome): loss = CE(pi, p) + (z - v)^2.
    Returns (policy loss, value loss)."""
    net.train()
    logits, v = net(torch.from_numpy(planes))
    target_pi = torch.from_numpy(policies)
    policy_loss = -(target_pi * torch.log_softmax(logits, dim=-1)).sum(-1).mean()
    value_loss = ((torch.from_numpy(values) - v) ** 2).mean()
    optimizer.zero_grad()
    (policy_loss + value_loss).backward()
    optimizer.step()
    return policy_loss.item(), value_loss.item()

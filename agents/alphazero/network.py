"""The policy-value network (AlphaZero's f_theta) and its numpy-facing wrapper.

``PolicyValueNet``: the residual trunk ``agents.nets.resnet.ResNet`` followed by
* a policy head: 1x1 conv to 2 planes, batch norm, ReLU, linear to ``n_actions`` logits;
* a value head: 1x1 conv to 1 plane, batch norm, ReLU, linear to ``value_hidden``, ReLU,
  linear to 1, tanh -> value in [-1, 1] for the player to move.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

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


def bf16_is_fast() -> bool:
    """Whether this CPU runs bfloat16 convolutions natively (AVX512-BF16 / AMX): then
    inference in bfloat16 is 2-3x faster than in float32 for batches of 64 and more."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(precision: str) -> str:
    """``"auto"`` -> ``"bfloat16"`` where :func:`bf16_is_fast`, else ``"float32"``."""
    if precision not in ("auto", "float32", "bfloat16"):
        raise ValueError(f"precision must be 'auto', 'float32' or 'bfloat16', got {precision!r}")
    if precision == "auto":
        return "bfloat16" if bf16_is_fast() else "float32"
    return precision


def fold_batch_norms(module: nn.Module) -> nn.Module:
    """Fold every ``BatchNorm2d`` that directly follows a ``Conv2d`` among a module's
    children (in definition order, as in ``PolicyValueNet`` and its ResNet trunk) into that
    convolution, in place; the norm becomes ``Identity``. Only valid in eval mode."""
    children = list(module.named_children())
    for (name, child), (next_name, following) in zip(children, children[1:]):
        if isinstance(child, nn.Conv2d) and isinstance(following, nn.BatchNorm2d):
            setattr(module, name, fuse_conv_bn_eval(child, following))
            setattr(module, next_name, nn.Identity())
    for _, child in module.named_children():
        fold_batch_norms(child)
    return module


def inference_copy(net: PolicyValueNet) -> nn.Module:
    """A frozen eval-mode copy of ``net`` for inference, batch norms folded into the
    convolutions (same outputs, fewer operations)."""
    frozen = fold_batch_norms(copy.deepcopy(net).eval())
    for parameter in frozen.parameters():
        parameter.requires_grad_(False)
    return frozen


class Evaluator:
    """Batched inference for the search: numpy planes and legal masks in, priors and values out.

    Works on a snapshot of ``net`` taken at construction (batch norms folded, see
    :func:`inference_copy`); build a new one after the weights change. ``precision``:
    ``"float32"``, ``"bfloat16"`` (autocast; priors and values are then accurate to about
    3 significant digits, plenty for the search) or ``"auto"`` (:func:`resolve_precision`).
    Batches smaller than ``BF16_MIN_BATCH`` run in float32 either way: there bfloat16 is slower.
    """

    BF16_MIN_BATCH = 16
    """Smallest batch evaluated in bfloat16 [positions]."""

    def __init__(self, net: PolicyValueNet, precision: str = "float32") -> None:
        self.net = inference_copy(net)
        self.precision = resolve_precision(precision)
        self.calls = 0
        self.positions = 0

    def __call__(self, planes: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """planes (B, C, H, W) float32, masks (B, n_actions) bool -> priors (B, n_actions)
        summing to 1 over legal actions, values (B,) for the player to move."""
        x = torch.from_numpy(np.ascontiguousarray(planes, dtype=np.float32))
        bf16 = self.precision == "bfloat16" and len(planes) >= self.BF16_MIN_BATCH
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits, values = self.net(x)
        logits = logits.float().masked_fill(~torch.from_numpy(np.asarray(masks, dtype=bool)), float("-inf"))
        priors = torch.softmax(logits, dim=-1).nan_to_num(0.0)
        self.calls += 1
        self.positions += len(planes)
        return priors.numpy(), values.float().numpy()


def train_step(net: PolicyValueNet, optimizer: torch.optim.Optimizer, planes: np.ndarray, policies: np.ndarray, values: np.ndarray,
               precision: str = "float32") -> tuple[float, float]:
    """One gradient step on (state, search policy, value target): loss = CE(pi, p) + (z - v)^2.
    ``precision="bfloat16"``: forward and backward under bfloat16 autocast (weights, losses
    and the optimizer stay float32; about 1.7x faster on CPUs with AVX512-BF16).
    Returns (policy loss, value loss)."""
    net.train()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=resolve_precision(precision) == "bfloat16"):
        logits, v = net(torch.from_numpy(planes))
    target_pi = torch.from_numpy(policies)
    policy_loss = -(target_pi * torch.log_softmax(logits.float(), dim=-1)).sum(-1).mean()
    value_loss = ((torch.from_numpy(values) - v.float()) ** 2).mean()
    optimizer.zero_grad()
    (policy_loss + value_loss).backward()
    optimizer.step()
    return policy_loss.item(), value_loss.item()

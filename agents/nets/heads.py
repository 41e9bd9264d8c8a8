"""Policy heads for policy-gradient agents: categorical (discrete actions) and
diagonal Gaussian with a state-independent log standard deviation (continuous actions).

Sampling takes an explicit ``torch.Generator``; no head touches the global RNG.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class CategoricalHead(nn.Module):
    """Logits ``Linear(feature_dim, n)``; actions are int64 indices ``(B,)``."""

    def __init__(self, feature_dim: int, n: int) -> None:
        super().__init__()
        self.linear = nn.Linear(feature_dim, n)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(self.linear(features), dim=-1)

    @staticmethod
    def sample(logp: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return torch.multinomial(logp.exp(), 1, generator=generator).squeeze(-1)

    @staticmethod
    def mode(logp: torch.Tensor) -> torch.Tensor:
        return logp.argmax(dim=-1)

    @staticmethod
    def log_prob(logp: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return logp.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)

    @staticmethod
    def entropy(logp: torch.Tensor) -> torch.Tensor:
        return -(logp.exp() * logp).sum(-1)


class GaussianHead(nn.Module):
    """Mean ``Linear(feature_dim, act_dim)`` and a learned state-independent ``log_std``.

    ``forward`` returns ``(mean, log_std)``; actions are unclipped samples (the agent
    clips them to the action bounds before stepping the environment).
    """

    def __init__(self, feature_dim: int, act_dim: int, log_std_init: float = 0.0) -> None:
        super().__init__()
        self.linear = nn.Linear(feature_dim, act_dim)
        self.log_std = nn.Parameter(torch.full((act_dim,), float(log_std_init)))

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = self.linear(features)
        return mean, self.log_std.expand_as(mean)

    @staticmethod
    def sample(params: tuple[torch.Tensor, torch.Tensor], generator: torch.Generator) -> torch.Tensor:
        mean, log_std = params
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return mean + log_std.exp() * noise

    @staticmethod
    def mode(params: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return params[0]

    @staticmethod
    def log_prob(params: tuple[torch.Tensor, torch.Tensor], actions: torch.Tensor) -> torch.Tensor:
        mean, log_std = params
        z = (actions - mean) / log_std.exp()
        return (-0.5 * z.pow(2) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)

    @staticmethod
    def entropy(params: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        log_std = params[1]
        return (log_std + 0.5 * math.log(2 * math.pi * math.e)).sum(-1)

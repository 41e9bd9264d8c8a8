"""Recurrent cores (LSTM, GRU) that carry hidden state across environment steps.

A core consumes a sequence ``x`` of shape ``(T, B, F)`` with a mask ``starts`` of shape
``(T, B)`` that is 1 where step ``t`` is the first step of a new episode; the hidden
state of those rows is zeroed before processing step ``t``. Single steps use ``T = 1``.
The state is a tuple of tensors of shape ``(layers, B, hidden)`` (``(h, c)`` for LSTM,
``(h,)`` for GRU) so agents can store and slice it without knowing the kind.
"""

from __future__ import annotations

import torch
from torch import nn

State = tuple[torch.Tensor, ...]


class RecurrentCore(nn.Module):
    """A single-layer LSTM or GRU with per-step episode-start resets.

    Args:
        input_dim: features per step [-].
        hidden_dim: hidden state width [-].
        kind: ``"lstm"`` or ``"gru"``.
    """

    def __init__(self, input_dim: int, hidden_dim: int = 128, kind: str = "lstm") -> None:
        super().__init__()
        if kind not in ("lstm", "gru"):
            raise ValueError(f"unknown recurrent kind '{kind}'; valid: lstm, gru")
        self.kind = kind
        self.hidden_dim = hidden_dim
        self.rnn = (nn.LSTM if kind == "lstm" else nn.GRU)(input_dim, hidden_dim)
        self.feature_dim = hidden_dim

    def initial_state(self, batch: int, device: torch.device | str = "cpu") -> State:
        """Zero state for ``batch`` parallel sequences."""
        zeros = torch.zeros(1, batch, self.hidden_dim, device=device)
        return (zeros, zeros.clone()) if self.kind == "lstm" else (zeros,)

    def forward(self, x: torch.Tensor, state: State, starts: torch.Tensor) -> tuple[torch.Tensor, State]:
        """``x`` (T, B, F), ``starts`` (T, B) -> outputs (T, B, hidden), final state."""
        outputs = []
        for t in range(x.shape[0]):
            keep = (1.0 - starts[t].float()).view(1, -1, 1)
            state = tuple(s * keep for s in state)
            out, new = self.rnn(x[t : t + 1], state if self.kind == "lstm" else state[0])
            state = new if self.kind == "lstm" else (new,)
            outputs.append(out)
        return torch.cat(outputs, dim=0), state


class RecurrentEncoder(nn.Module):
    """A feed-forward encoder followed by a ``RecurrentCore``.

    ``forward(obs, state, starts)``: ``obs`` is a batch ``(T*B, ...)`` (or a dict of
    them) in time-major order; returns features ``(T*B, hidden)`` and the new state.
    ``is_recurrent`` tells agents to carry the state.
    """

    is_recurrent = True

    def __init__(self, base: nn.Module, base_dim: int, hidden_dim: int = 128, kind: str = "lstm") -> None:
        super().__init__()
        self.base = base
        self.core = RecurrentCore(base_dim, hidden_dim, kind)
        self.feature_dim = hidden_dim

    def initial_state(self, batch: int, device: torch.device | str = "cpu") -> State:
        return self.core.initial_state(batch, device)

    def forward(self, obs, state: State, starts: torch.Tensor) -> tuple[torch.Tensor, State]:
        features = self.base(obs)
        steps, batch = starts.shape
        out, state = self.core(features.view(steps, batch, -1), state, starts)
        return out.reshape(steps * batch, -1), state

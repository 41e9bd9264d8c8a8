"""Small PyTorch helpers shared by the deep agents: devices, deterministic weight
initialisation from an explicit ``torch.Generator``, observation conversion, and
optimizer state for checkpoints.

Agents never touch the global torch RNG and never call ``torch.set_num_threads``:
weights are (re)initialised here from a generator seeded by the agent's seed, and
stochastic action sampling takes the generator explicitly.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Iterator, Mapping

import numpy as np
import torch
from torch import nn


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA when available else CPU; otherwise ``torch.device(name)``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(name)
    except RuntimeError as error:
        raise ValueError(f"unknown device '{name}'; use 'cpu', 'cuda', 'cuda:N' or 'auto'") from error


@contextlib.contextmanager
def preserve_global_rng() -> Iterator[None]:
    """Restore torch's global CPU RNG state on exit: building ``nn`` modules draws their
    default initialisation from it, which agents then overwrite with ``init_module``."""
    state = torch.get_rng_state()
    try:
        yield
    finally:
        torch.set_rng_state(state)


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch generator seeded with ``seed`` (on ``device``)."""
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed) % (2**63))
    return generator


@torch.no_grad()
def init_module(module: nn.Module, generator: torch.Generator, scheme: str = "default") -> nn.Module:
    """Re-initialise every parameter of ``module`` from ``generator`` (deterministically).

    ``scheme="default"`` reproduces PyTorch's default (Kaiming-uniform weights, uniform
    biases in +-1/sqrt(fan_in)); ``"orthogonal"`` uses orthogonal weights with gain
    sqrt(2) and zero biases (the A2C/PPO convention). Batch-norm layers get weight 1,
    bias 0. Recurrent layers get uniform(+-1/sqrt(hidden)) weights as in PyTorch.
    """
    for sub in module.modules():
        if isinstance(sub, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            if scheme == "orthogonal":
                nn.init.orthogonal_(sub.weight, gain=math.sqrt(2), generator=generator)
                if sub.bias is not None:
                    sub.bias.zero_()
            else:
                nn.init.kaiming_uniform_(sub.weight, a=math.sqrt(5), generator=generator)
                if sub.bias is not None:
                    fan_in = sub.weight[0].numel()
                    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                    nn.init.uniform_(sub.bias, -bound, bound, generator=generator)
        elif isinstance(sub, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)):
            if getattr(sub, "weight", None) is not None:
                sub.weight.fill_(1.0)
            if getattr(sub, "bias", None) is not None:
                sub.bias.zero_()
        elif isinstance(sub, (nn.LSTM, nn.GRU, nn.LSTMCell, nn.GRUCell)):
            bound = 1.0 / math.sqrt(sub.hidden_size)
            for param in sub.parameters(recurse=False):
                nn.init.uniform_(param, -bound, bound, generator=generator)
    return module


@torch.no_grad()
def scale_last_layer(layer: nn.Linear, gain: float, generator: torch.Generator) -> None:
    """Orthogonal init with a small ``gain`` for an output head (policy 0.01, value 1)."""
    nn.init.orthogonal_(layer.weight, gain=gain, generator=generator)
    if layer.bias is not None:
        layer.bias.zero_()


def make_adam(params, lr: float, eps: float = 1e-8) -> torch.optim.Adam:
    """Adam with the fused kernel when this torch build supports it (about 2x faster
    steps for small networks), else the default implementation."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, eps=eps, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, eps=eps)


def obs_to_tensor(obs: Any, device: torch.device) -> Any:
    """Convert a numpy observation (or dict of them) to tensors, keeping integer dtypes
    (encoders scale uint8 images themselves, so replay buffers can stay uint8)."""
    if isinstance(obs, Mapping):
        return {key: obs_to_tensor(value, device) for key, value in obs.items()}
    array = np.asarray(obs)
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    elif array.dtype == np.bool_:
        array = array.astype(np.float32)
    return torch.as_tensor(array, device=device)


def add_batch_dim(obs: Any) -> Any:
    """Add a leading batch axis of size 1 to an observation (or dict of them)."""
    if isinstance(obs, Mapping):
        return {key: add_batch_dim(value) for key, value in obs.items()}
    return np.asarray(obs)[None]


def module_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of a module's ``state_dict`` (for checkpoints)."""
    return {key: value.detach().cpu().clone() for key, value in module.state_dict().items()}


def optimizer_state(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """``optimizer.state_dict()`` with tensors moved to CPU; int keys are kept (the
    checkpoint format stores them)."""

    def convert(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            return value.detach().cpu().clone()
        if isinstance(value, dict):
            return {key: convert(v) for key, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [convert(v) for v in value]
        return value

    return convert(optimizer.state_dict())


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: Mapping[str, Any]) -> None:
    """Inverse of ``optimizer_state`` (checkpoints turn tuples into lists; torch copes)."""
    state = dict(state)
    groups = []
    for group in state["param_groups"]:
        group = dict(group)
        if "betas" in group and isinstance(group["betas"], list):
            group["betas"] = tuple(group["betas"])
        groups.append(group)
    state["param_groups"] = groups
    optimizer.load_state_dict(state)


def load_module_state(module: nn.Module, state: Mapping[str, Any]) -> None:
    """Load tensors (or numpy arrays) into ``module``."""
    module.load_state_dict({key: torch.as_tensor(np.asarray(value)) if not isinstance(value, torch.Tensor) else value for key, value in state.items()})

"""``build_encoder``: pick and build a perception backbone by name for an observation space.

Names: ``mlp`` (flatten + MLP), ``cnn`` (Nature-DQN CNN), ``resnet`` (residual trunk +
global average pooling), ``lstm`` / ``gru`` (the ``auto`` encoder followed by a
recurrent core), ``auto`` (chosen from the space: ``Dict`` -> one encoder per key,
image-like 3-D ``Box`` -> ``cnn`` when both sides are >= 36 px else ``resnet``,
everything else -> ``mlp``). The same encoders serve DQN, A2C, REINFORCE, behavioural
cloning and AlphaZero.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from torch import nn

from .cnn import NatureCNN
from .combined import DictEncoder
from .mlp import FlattenMLPEncoder
from .recurrent import RecurrentEncoder
from .resnet import ResNetEncoder

BACKBONES = ("auto", "mlp", "cnn", "resnet", "lstm", "gru")
RECURRENT = ("lstm", "gru")

#: Options understood by ``build_encoder`` and their defaults.
DEFAULT_OPTIONS: dict[str, Any] = {
    "hidden": (64, 64),  # MLP widths [-]
    "activation": "relu",  # MLP activation
    "features_dim": 512,  # Nature CNN fully connected width [-]
    "channels": 32,  # ResNet width [-]
    "blocks": 2,  # ResNet residual blocks [-]
    "recurrent_hidden": 128,  # LSTM/GRU state width [-]
    "channels_last": None,  # image layout; None = guess (last axis smaller than first -> HWC)
}


def is_image_space(space: spaces.Space) -> bool:
    """A 3-D ``Box`` (channels x height x width, in either layout)."""
    return isinstance(space, spaces.Box) and len(space.shape) == 3


def _image_layout(shape: tuple[int, ...], channels_last: bool | None) -> tuple[bool, int, int, int]:
    last = shape[-1] < shape[0] if channels_last is None else bool(channels_last)
    c, h, w = (shape[2], shape[0], shape[1]) if last else shape
    return last, int(c), int(h), int(w)


def auto_backbone(space: spaces.Space) -> str:
    """The backbone ``auto`` picks for ``space`` (``dict`` for Dict spaces)."""
    if isinstance(space, spaces.Dict):
        return "dict"
    if is_image_space(space):
        _, _, h, w = _image_layout(space.shape, None)
        return "cnn" if min(h, w) >= 36 else "resnet"
    return "mlp"


def _flat_encoder(space: spaces.Space, opts: dict[str, Any]) -> tuple[nn.Module, int]:
    if isinstance(space, spaces.Discrete):
        encoder = FlattenMLPEncoder(int(space.n), opts["hidden"], opts["activation"], one_hot=int(space.n))
    elif isinstance(space, (spaces.Box, spaces.MultiBinary, spaces.MultiDiscrete)):
        size = int(np.prod(space.shape))
        scale = 1.0 / 255.0 if isinstance(space, spaces.Box) and space.dtype == np.uint8 else 1.0
        encoder = FlattenMLPEncoder(size, opts["hidden"], opts["activation"], scale=scale)
    else:
        raise ValueError(f"no encoder for observation space {space}")
    return encoder, encoder.feature_dim


def build_encoder(name: str, observation_space: spaces.Space, **options: Any) -> tuple[nn.Module, int]:
    """Build the encoder ``name`` for ``observation_space``; returns ``(module, feature_dim)``.

    The module maps a batch of observations (tensors from ``obs_to_tensor``, or a dict of
    them) to ``(B, feature_dim)`` float features. Recurrent encoders (``lstm``, ``gru``)
    have ``is_recurrent = True`` and are called as ``module(obs, state, starts)``.
    Unknown option names raise ``ValueError``.
    """
    unknown = sorted(set(options) - set(DEFAULT_OPTIONS))
    if unknown:
        raise ValueError(f"unknown encoder option(s) {', '.join(unknown)}; valid: {', '.join(DEFAULT_OPTIONS)}")
    opts = {**DEFAULT_OPTIONS, **options}
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone '{name}'; valid: {', '.join(BACKBONES)}")
    if name in RECURRENT:
        base, base_dim = build_encoder("auto", observation_space, **options)
        encoder = RecurrentEncoder(base, base_dim, int(opts["recurrent_hidden"]), kind=name)
        return encoder, encoder.feature_dim
    if isinstance(observation_space, spaces.Dict):
        parts = {}
        dims = {}
        for key, sub in observation_space.spaces.items():
            sub_name = name if name != "auto" and (is_image_space(sub) or name == "mlp") else "auto"
            parts[key], dims[key] = build_encoder(sub_name, sub, **options)
        encoder = DictEncoder(parts, dims)
        return encoder, encoder.feature_dim
    if name == "auto":
        name = auto_backbone(observation_space)
    if name in ("cnn", "resnet"):
        if not is_image_space(observation_space):
            raise ValueError(f"backbone '{name}' needs an image observation (3-D Box), got {observation_space}; use mlp")
        last, c, h, w = _image_layout(observation_space.shape, opts["channels_last"])
        if name == "cnn":
            if min(h, w) < 36:
                raise ValueError(f"backbone 'cnn' needs images of at least 36x36 px, got {h}x{w}; use resnet")
            encoder = NatureCNN(c, h, w, int(opts["features_dim"]), channels_last=last)
        else:
            encoder = ResNetEncoder(c, int(opts["channels"]), int(opts["blocks"]), channels_last=last)
        return encoder, encoder.feature_dim
    return _flat_encoder(observation_space, opts)

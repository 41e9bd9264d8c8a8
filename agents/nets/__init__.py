"""Perception backbones shared by the deep agents: MLP, Nature CNN, ResNet, recurrent
cores (LSTM/GRU) and Dict-observation encoders, plus ``build_encoder`` to choose one by
name for an observation space."""

from .cnn import NatureCNN
from .combined import DictEncoder
from .factory import BACKBONES, auto_backbone, build_encoder
from .heads import CategoricalHead, GaussianHead
from .mlp import MLP, FlattenMLPEncoder
from .recurrent import RecurrentCore, RecurrentEncoder
from .resnet import ResNet, ResNetEncoder

__all__ = [
    "BACKBONES", "CategoricalHead", "GaussianHead", "MLP", "DictEncoder", "FlattenMLPEncoder", "NatureCNN", "RecurrentCore",
    "RecurrentEncoder", "ResNet", "ResNetEncoder", "auto_backbone", "build_encoder",
]

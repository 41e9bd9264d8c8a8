"""Perception backbones: output shapes, Dict observations, recurrent state resets,
deterministic initialisation, policy heads."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from gymnasium import spaces

from agents.nets import (
    CategoricalHead,
    GaussianHead,
    MLP,
    NatureCNN,
    RecurrentCore,
    ResNet,
    auto_backbone,
    build_encoder,
)
from agents.torch_utils import init_module, make_generator, obs_to_tensor, preserve_global_rng

VECTOR = spaces.Box(-1.0, 1.0, (6,), np.float32)
PIXELS = spaces.Box(0, 255, (4, 84, 84), np.uint8)
PIXELS_HWC = spaces.Box(0, 255, (64, 64, 3), np.uint8)
BOARD = spaces.Box(0.0, 1.0, (3, 6, 7), np.float32)


def _batch(space: spaces.Space, n: int, seed: int = 0):
    space.seed(seed)
    samples = [space.sample() for _ in range(n)]
    if isinstance(space, spaces.Dict):
        return {key: np.stack([s[key] for s in samples]) for key in space.spaces}
    return np.stack(samples)


def test_resnet_keeps_spatial_size():
    net = ResNet(3, channels=16, blocks=2)
    out = net(torch.randn(5, 3, 6, 7))
    assert out.shape == (5, 16, 6, 7)
    assert len(net.blocks) == 2


def test_nature_cnn_layout_and_scaling():
    cnn = NatureCNN(4)
    assert cnn.fc[0].in_features == 64 * 7 * 7
    x = torch.full((2, 4, 84, 84), 255, dtype=torch.uint8)
    # uint8 input is scaled by 1/255: identical to feeding the float image of ones
    assert torch.allclose(cnn(x), cnn(torch.ones(2, 4, 84, 84)))


@pytest.mark.parametrize(
    "name, space, dim, kind",
    [
        ("auto", VECTOR, 64, "FlattenMLPEncoder"),
        ("mlp", VECTOR, 64, "FlattenMLPEncoder"),
        ("auto", spaces.Discrete(5), 64, "FlattenMLPEncoder"),
        ("auto", PIXELS, 512, "NatureCNN"),
        ("cnn", PIXELS_HWC, 512, "NatureCNN"),
        ("auto", BOARD, 32, "ResNetEncoder"),
        ("resnet", PIXELS, 32, "ResNetEncoder"),
        ("mlp", PIXELS, 64, "FlattenMLPEncoder"),
    ],
)
def test_build_encoder_shapes(name, space, dim, kind):
    encoder, feature_dim = build_encoder(name, space)
    assert type(encoder).__name__ == kind
    assert feature_dim == dim
    out = encoder(obs_to_tensor(_batch(space, 3), "cpu"))
    assert out.shape == (3, dim)
    assert torch.isfinite(out).all()


def test_dict_observation_encoder_concatenates_per_key():
    space = spaces.Dict({"speed": spaces.Box(-1, 1, (3,), np.float32), "camera": PIXELS_HWC, "lane": spaces.Discrete(4)})
    assert auto_backbone(space) == "dict"
    encoder, dim = build_encoder("auto", space, hidden=(32,))
    assert dim == 512 + 32 + 32
    assert [type(encoder.encoders[k]).__name__ for k in encoder.keys] == ["NatureCNN", "FlattenMLPEncoder", "FlattenMLPEncoder"]
    out = encoder(obs_to_tensor(_batch(space, 2), "cpu"))
    assert out.shape == (2, dim)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_recurrent_encoder_shapes_and_state(kind):
    encoder, dim = build_encoder(kind, VECTOR, recurrent_hidden=24)
    assert encoder.is_recurrent and dim == 24
    state = encoder.initial_state(4)
    assert len(state) == (2 if kind == "lstm" else 1) and state[0].shape == (1, 4, 24)
    obs = obs_to_tensor(_batch(VECTOR, 3 * 4), "cpu")  # T=3, B=4, time-major
    out, new_state = encoder(obs, state, torch.zeros(3, 4))
    assert out.shape == (12, 24) and new_state[0].shape == (1, 4, 24)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_recurrent_core_resets_hidden_state_at_episode_start(kind):
    torch.manual_seed(0)
    core = RecurrentCore(3, 8, kind)
    x = torch.randn(4, 2, 3)
    state = tuple(torch.randn_like(s) for s in core.initial_state(2))
    starts = torch.zeros(4, 2)
    starts[2, 0] = 1.0  # env 0 starts a new episode at step 2
    out, _ = core(x, state, starts)
    # env 0 from step 2 on equals a fresh run from a zero state
    fresh, _ = core(x[2:, :1], core.initial_state(1), torch.zeros(2, 1))
    assert torch.allclose(out[2:, :1], fresh, atol=1e-6)
    # env 1 (no reset) still depends on the carried state
    no_reset, _ = core(x[2:, 1:], core.initial_state(1), torch.zeros(2, 1))
    assert not torch.allclose(out[2:, 1:], no_reset, atol=1e-4)
    # processing step by step gives the same result as the whole sequence
    step_state, outs = state, []
    for t in range(4):
        o, step_state = core(x[t : t + 1], step_state, starts[t : t + 1])
        outs.append(o)
    assert torch.allclose(torch.cat(outs), out, atol=1e-6)


def test_unknown_backbone_and_option_are_rejected():
    with pytest.raises(ValueError, match="valid: auto, mlp"):
        build_encoder("transformer", VECTOR)
    with pytest.raises(ValueError, match="hidden"):
        build_encoder("mlp", VECTOR, hiden=(3,))
    with pytest.raises(ValueError, match="image"):
        build_encoder("cnn", VECTOR)


def test_init_from_generator_is_deterministic_and_leaves_global_rng_alone():
    before = torch.get_rng_state()
    with preserve_global_rng():
        a = init_module(MLP(4, (8, 8), 2), make_generator(7))
        torch.rand(3)  # any other draw inside is undone too
        b = init_module(MLP(4, (8, 8), 2), make_generator(7))
        c = init_module(MLP(4, (8, 8), 2), make_generator(8))
    assert torch.equal(torch.get_rng_state(), before)
    pa, pb, pc = (torch.cat([p.flatten() for p in m.parameters()]) for m in (a, b, c))
    assert torch.equal(pa, pb) and not torch.equal(pa, pc)


def test_heads_log_prob_entropy_and_seeded_sampling():
    gauss = GaussianHead(5, 2, log_std_init=-0.5)
    features = torch.randn(7, 5)
    params = gauss(features)
    actions = torch.randn(7, 2)
    reference = torch.distributions.Normal(params[0], params[1].exp())
    assert torch.allclose(gauss.log_prob(params, actions), reference.log_prob(actions).sum(-1), atol=1e-5)
    assert torch.allclose(gauss.entropy(params), reference.entropy().sum(-1), atol=1e-5)
    s1 = gauss.sample(params, make_generator(3))
    s2 = gauss.sample(params, make_generator(3))
    assert torch.equal(s1, s2)
    cat = CategoricalHead(5, 3)
    logp = cat(features)
    ref = torch.distributions.Categorical(logits=logp)
    acts = torch.tensor([0, 1, 2, 0, 1, 2, 0])
    assert torch.allclose(cat.log_prob(logp, acts), ref.log_prob(acts), atol=1e-6)
    assert torch.allclose(cat.entropy(logp), ref.entropy(), atol=1e-6)
    assert torch.equal(cat.sample(logp, make_generator(1)), cat.sample(logp, make_generator(1)))
    assert math.isclose(float(GaussianHead(1, 1).entropy((torch.zeros(1, 1), torch.zeros(1, 1)))[0]), 0.5 * math.log(2 * math.pi * math.e), rel_tol=1e-6)

"""simdrive/CartPole-v1 against Gymnasium's CartPole-v1: same seeds + same actions = same trajectories.

Also: the batched env against SyncVectorEnv (the per-sub-env seeding/autoreset contract), against
Gymnasium's own CartPoleVectorEnv (dynamics, flags, autoreset timing), env checkers, rendering.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.classic_control.cartpole import CartPoleEnv as GymCartPoleEnv
from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv as GymCartPoleVectorEnv
from gymnasium.vector import AutoresetMode

import envs  # noqa: F401  (registers simdrive/*)
from envs.cartpole import (
    CartPoleEnv,
    CartPoleParams,
    CartPoleVectorEnv,
    _ResetStreams,
    cartpole_dynamics,
    render_cartpole,
)

ATOL = 1e-9
ENV_ID = "simdrive/CartPole-v1"


def _policy(obs: np.ndarray, rng: np.random.Generator, mode: int) -> int | np.ndarray:
    """mode 0: uniform random; mode 1: a noisy PD balancer (long episodes, reaches the 500-step limit)."""
    obs = np.asarray(obs)
    if mode == 0:
        return rng.integers(0, 2, size=obs.shape[:-1]) if obs.ndim == 2 else int(rng.integers(0, 2))
    push = (obs[..., 2] + 0.5 * obs[..., 3] + 0.05 * obs[..., 0] + 0.1 * obs[..., 1]) > 0
    flip = rng.random(push.shape) < 0.1
    act = (push ^ flip).astype(np.int64)
    return act if act.ndim else int(act)


def test_single_env_matches_gymnasium_over_10k_steps():
    ours, theirs = gym.make(ENV_ID), gym.make("CartPole-v1")
    rng = np.random.default_rng(0)
    seed, steps, episodes, truncations = 1000, 0, 0, 0
    obs_a, _ = ours.reset(seed=seed)
    obs_b, _ = theirs.reset(seed=seed)
    while steps < 12_000:
        np.testing.assert_array_equal(obs_a, obs_b)
        mode = int(episodes % 10 == 9)  # mostly random actions, every 10th episode balanced
        action = _policy(obs_a, rng, mode)
        obs_a, r_a, term_a, trunc_a, _ = ours.step(action)
        obs_b, r_b, term_b, trunc_b, _ = theirs.step(action)
        steps += 1
        np.testing.assert_allclose(ours.unwrapped.state, theirs.unwrapped.state, rtol=0, atol=ATOL)
        np.testing.assert_allclose(obs_a, obs_b, rtol=0, atol=ATOL)
        assert obs_a.dtype == obs_b.dtype == np.float32
        assert (r_a, term_a, trunc_a) == (r_b, term_b, trunc_b)
        if term_a or trunc_a:
            episodes += 1
            truncations += trunc_a
            seed += 1
            obs_a, _ = ours.reset(seed=seed)
            obs_b, _ = theirs.reset(seed=seed)
    assert episodes > 100 and truncations >= 5  # both termination and the time limit were exercised


def test_reset_bounds_and_unseeded_resets_match_gymnasium():
    ours, theirs = CartPoleEnv(), GymCartPoleEnv()
    a, _ = ours.reset(seed=123, options={"low": -0.1, "high": 0.1})
    b, _ = theirs.reset(seed=123, options={"low": -0.1, "high": 0.1})
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, [0.03647037, -0.0892358, -0.05592803, -0.06312564], atol=1e-7)  # docstring
    for _ in range(5):  # unseeded resets continue the same np_random stream
        np.testing.assert_array_equal(ours.reset()[0], theirs.reset()[0])


@pytest.mark.filterwarnings("ignore:.*already returned terminated = True")
@pytest.mark.parametrize("sutton_barto", [False, True])
def test_rewards_and_steps_after_termination_match_gymnasium(sutton_barto):
    ours = CartPoleEnv(sutton_barto_reward=sutton_barto)
    theirs = GymCartPoleEnv(sutton_barto_reward=sutton_barto)
    ours.reset(seed=7)
    theirs.reset(seed=7)
    rewards = []
    for _ in range(40):  # always push right: terminates after ~10 steps, then keeps stepping
        ra, rb = ours.step(1), theirs.step(1)
        np.testing.assert_array_equal(ra[0], rb[0])
        assert ra[1:4] == rb[1:4]
        rewards.append(ra[1])
    first_term = next(i for i, r in enumerate(rewards) if r != rewards[0])
    assert first_term > 3  # the reward sequence changed after termination


@pytest.mark.filterwarnings("ignore:.*already returned terminated = True")
def test_semi_implicit_integrator_matches_gymnasium():
    ours = CartPoleEnv(params=CartPoleParams(kinematics_integrator="semi-implicit euler"))
    theirs = GymCartPoleEnv()
    theirs.kinematics_integrator = "semi-implicit euler"
    ours.reset(seed=3)
    theirs.reset(seed=3)
    rng = np.random.default_rng(3)
    for _ in range(30):
        a = int(rng.integers(2))
        np.testing.assert_array_equal(ours.step(a)[0], theirs.step(a)[0])
    with pytest.raises(ValueError, match="kinematics_integrator"):
        CartPoleParams(kinematics_integrator="rk4")  # type: ignore[arg-type]


def test_one_dynamics_function_serves_single_and_batched():
    rng = np.random.default_rng(0)
    states = rng.uniform(-0.2, 0.2, size=(50, 4))
    actions = rng.integers(0, 2, size=50)
    batched = cartpole_dynamics(states, actions)
    assert batched.shape == (50, 4)
    for i in range(50):
        np.testing.assert_array_equal(batched[i], cartpole_dynamics(states[i], int(actions[i])))


def test_checkers_and_determinism():
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    check_env(gym.make(ENV_ID, render_mode="rgb_array").unwrapped, skip_render_check=False)
    sb3_check_env(CartPoleEnv(), warn=True)
    a, b = gym.make(ENV_ID), gym.make(ENV_ID)
    obs_a, obs_b = a.reset(seed=5)[0], b.reset(seed=5)[0]
    np.testing.assert_array_equal(obs_a, obs_b)
    for t in range(8):
        np.testing.assert_array_equal(a.step(t % 2)[0], b.step(t % 2)[0])
    assert not np.array_equal(a.reset(seed=6)[0], b.reset(seed=5)[0])


def test_invalid_actions_and_step_before_reset_raise():
    env = CartPoleEnv()
    with pytest.raises(AssertionError):
        env.step(0)
    env.reset(seed=0)
    for bad in (2, -1, 0.5, "left", np.array([1]), np.float64(1.0)):
        with pytest.raises(AssertionError):
            env.step(bad)
    for good in (np.int64(1), np.array(0), np.uint8(1)):  # as accepted by Discrete(2).contains
        assert env.action_space.contains(good)
        env.step(good)


# ------------------------------------------------------------------ batched env


def test_make_vec_builds_native_vector_env():
    venv = gym.make_vec(ENV_ID, num_envs=3)
    assert isinstance(venv, CartPoleVectorEnv)
    assert venv.num_envs == 3 and venv.max_episode_steps == 500
    assert venv.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert venv.observation_space.shape == (3, 4) and venv.single_action_space == gym.spaces.Discrete(2)
    assert gym.make_vec(ENV_ID, num_envs=2, max_episode_steps=7).max_episode_steps == 7
    rendering = gym.make_vec(ENV_ID, num_envs=2, render_mode="rgb_array", sutton_barto_reward=True)
    assert rendering.render_mode == "rgb_array" and rendering._sutton_barto_reward


def _run_side_by_side(ours, theirs, n_steps, rng, seed, obs_mask_fn=None):
    """Step two vector envs with the same actions; returns (#terminations, #truncations) seen."""
    obs_a, _ = ours.reset(seed=seed)
    obs_b, _ = theirs.reset(seed=seed)
    np.testing.assert_array_equal(obs_a, obs_b)
    n = ours.num_envs
    modes = np.arange(n) % 2  # half random, half balancing
    n_term = n_trunc = 0
    for _ in range(n_steps):
        act = np.where(modes == 0, _policy(obs_a, rng, 0), _policy(obs_a, rng, 1)).astype(np.int64)
        obs_a, r_a, te_a, tr_a, _ = ours.step(act)
        obs_b, r_b, te_b, tr_b, _ = theirs.step(act)
        np.testing.assert_allclose(obs_a, obs_b, rtol=0, atol=ATOL)
        np.testing.assert_array_equal(r_a, r_b)
        np.testing.assert_array_equal(te_a, te_b)
        np.testing.assert_array_equal(tr_a, tr_b)
        n_term += int(te_a.sum())
        n_trunc += int(tr_a.sum())
    return n_term, n_trunc


def test_vector_env_equals_sync_vector_env_of_gymnasium_cartpole():
    """reset(seed=s) seeds sub-env i with s + i and autoresets like SyncVectorEnv (NEXT_STEP)."""
    ours = gym.make_vec(ENV_ID, num_envs=6)
    theirs = gym.make_vec("CartPole-v1", num_envs=6, vectorization_mode="sync")
    n_term, n_trunc = _run_side_by_side(ours, theirs, 1300, np.random.default_rng(1), seed=42)
    assert n_term > 50 and n_trunc >= 2
    # a second seeded reset (list form) restarts the streams identically
    seeds = [9, 3, 100, 7, 5, 11]
    np.testing.assert_array_equal(ours.reset(seed=seeds)[0], theirs.reset(seed=seeds)[0])
    _run_side_by_side(ours, theirs, 50, np.random.default_rng(2), seed=None)


def test_vector_sutton_barto_reward_equals_sync_vector_env():
    ours = gym.make_vec(ENV_ID, num_envs=4, sutton_barto_reward=True)
    theirs = gym.make_vec("CartPole-v1", num_envs=4, vectorization_mode="sync", sutton_barto_reward=True)
    n_term, _ = _run_side_by_side(ours, theirs, 200, np.random.default_rng(5), seed=3)
    assert n_term > 5


@pytest.mark.parametrize("chunk", [None, 2])
def test_sub_env_i_is_the_single_env_with_seed_i(chunk):
    seeds = [11, 22, 33, 44]
    venv = CartPoleVectorEnv(num_envs=4, max_episode_steps=500)
    if chunk is not None:  # tiny pre-draw blocks: the refills happen often and must keep the streams exact
        venv._streams = _ResetStreams(4, chunk=chunk)
    singles = [gym.make(ENV_ID) for _ in seeds]
    obs_v, _ = venv.reset(seed=seeds)
    obs_s = np.stack([env.reset(seed=s)[0] for env, s in zip(singles, seeds)])
    np.testing.assert_array_equal(obs_v, obs_s)
    done = [False] * 4
    rng = np.random.default_rng(0)
    resets = 0
    for _ in range(400):
        act = rng.integers(0, 2, size=4)
        obs_v, rew_v, term_v, trunc_v, _ = venv.step(act)
        for i, env in enumerate(singles):
            if done[i]:  # NEXT_STEP autoreset: action ignored, new episode, reward 0
                obs, _ = env.reset()
                rew, term, trunc = 0.0, False, False
                resets += 1
            else:
                obs, rew, term, trunc, _ = env.step(int(act[i]))
            np.testing.assert_allclose(obs_v[i], obs, rtol=0, atol=ATOL)
            np.testing.assert_allclose(venv.state[i], env.unwrapped.state, rtol=0, atol=ATOL)  # float64
            assert (rew_v[i], term_v[i], trunc_v[i]) == (rew, term, trunc)
            done[i] = term or trunc
    assert resets > 20


def test_vector_env_matches_gymnasium_cartpole_vector_env_flags_and_dynamics():
    """Same dynamics, rewards, termination/truncation and autoreset timing as Gymnasium's batched env.

    Gymnasium's CartPoleVectorEnv draws every sub-env's initial state from one generator, so its
    reset states differ from ours: after each step its state is set to ours (a no-op except on the
    sub-envs that were just autoreset).
    """
    n = 16
    ours = CartPoleVectorEnv(num_envs=n, max_episode_steps=120)
    theirs = GymCartPoleVectorEnv(num_envs=n, max_episode_steps=120)
    obs, _ = ours.reset(seed=0)
    theirs.reset(seed=0)
    theirs.state = ours.state.T.copy()
    rng = np.random.default_rng(0)
    modes = np.arange(n) % 2
    n_trunc = n_autoreset = 0
    prev_done = np.zeros(n, dtype=bool)
    for _ in range(400):
        act = np.where(modes == 0, _policy(obs, rng, 0), _policy(obs, rng, 1)).astype(np.int64)
        obs, r_a, te_a, tr_a, _ = ours.step(act)
        obs_b, r_b, te_b, tr_b, _ = theirs.step(act)
        keep = ~prev_done  # sub-envs that were stepped (not autoreset) this step
        np.testing.assert_allclose(obs[keep], obs_b[keep], rtol=0, atol=ATOL)
        np.testing.assert_array_equal(r_a, r_b)
        np.testing.assert_array_equal(te_a, te_b)
        np.testing.assert_array_equal(tr_a, tr_b)
        n_trunc += int(tr_a.sum())
        n_autoreset += int(prev_done.sum())
        prev_done = te_a | tr_a
        theirs.state = ours.state.T.copy()
    assert n_trunc >= 4 and n_autoreset > 50


def test_vector_reset_mask_matches_sync_vector_env():
    ours = gym.make_vec(ENV_ID, num_envs=4)
    theirs = gym.make_vec("CartPole-v1", num_envs=4, vectorization_mode="sync")
    _run_side_by_side(ours, theirs, 30, np.random.default_rng(4), seed=1)
    mask = np.array([True, False, True, False])
    seeds = [50, None, 51, None]
    a, _ = ours.reset(seed=seeds, options={"reset_mask": mask.copy()})
    b, _ = theirs.reset(seed=seeds, options={"reset_mask": mask.copy()})
    np.testing.assert_array_equal(a, b)
    act = np.array([0, 1, 1, 0])
    for _ in range(20):
        oa, ra, ta, ua, _ = ours.step(act)
        ob, rb, tb, ub, _ = theirs.step(act)
        np.testing.assert_array_equal(oa, ob)
        np.testing.assert_array_equal(ra, rb)
        np.testing.assert_array_equal(ta, tb)


def test_vector_env_reset_bounds_persist_and_checks():
    venv = CartPoleVectorEnv(num_envs=3)
    venv.reset(seed=[1, 2, 3], options={"low": -0.2, "high": 0.3})
    single = CartPoleEnv()
    for i, s in enumerate([1, 2, 3]):  # the pre-drawn streams give exactly np_random.uniform(low, high)
        single.reset(seed=s, options={"low": -0.2, "high": 0.3})
        np.testing.assert_array_equal(venv.state[i], single.state)
    venv = CartPoleVectorEnv(num_envs=32)
    obs, _ = venv.reset(seed=0, options={"low": 0.2, "high": 0.2001})
    assert np.all((obs >= 0.2 - 1e-6) & (obs <= 0.2001 + 1e-6))  # theta 0.2 ~ about to fall
    for _ in range(3):
        obs, *_ = venv.step(np.ones(32, dtype=np.int64))
    # every cart terminated and was autoreset within the same bounds
    assert np.all(obs[:, 0] >= 0.2 - 1e-6)
    with pytest.raises(AssertionError):
        venv.step(np.full(32, 2))
    with pytest.raises(AssertionError):
        venv.step(np.zeros(31, dtype=np.int64))
    with pytest.raises(ValueError):
        venv.reset(seed=[1, 2, 3])
    assert venv.observation_space.contains(venv.reset(seed=1)[0])


# ------------------------------------------------------------------ rendering


def test_rgb_array_render_looks_like_gymnasium_and_moves(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")  # Gymnasium's renderer initialises pygame's display
    ours, theirs = CartPoleEnv(render_mode="rgb_array"), GymCartPoleEnv(render_mode="rgb_array")
    ours.reset(seed=0)
    theirs.reset(seed=0)
    for state in ([0.0, 0, 0.0, 0], [1.2, 0, 0.15, 0], [-1.5, 0, -0.2, 0]):
        ours.state = np.array(state)
        theirs.state = np.array(state)
        a, b = ours.render(), theirs.render()
        assert a.shape == (400, 600, 3) and a.dtype == np.uint8
        differing = (np.abs(a.astype(int) - b.astype(int)).max(axis=-1) > 60).mean()
        assert differing < 0.005, differing  # same picture up to anti-aliasing at the edges
    upright, leaning = render_cartpole(0.0, 0.0), render_cartpole(0.0, 0.2)
    assert (upright != leaning).any(axis=-1).sum() > 500
    theirs.close()


def test_human_render_and_vector_render(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    env = CartPoleEnv(render_mode="human")
    env.metadata = {**env.metadata, "render_fps": 10_000}  # don't sleep in the test
    env.reset(seed=0)
    env.step(0)
    assert env._window is not None and env.render() is None
    env.close()
    assert env._window is None
    venv = CartPoleVectorEnv(num_envs=8, render_mode="rgb_array", render_num_envs=2)
    venv.reset(seed=0)
    frames = venv.render()
    assert isinstance(frames, tuple) and len(frames) == 2 and frames[0].shape == (400, 600, 3)
    single = CartPoleEnv(render_mode="rgb_array")
    single.reset(seed=0)
    np.testing.assert_array_equal(frames[0], single.render())

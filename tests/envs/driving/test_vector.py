import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401
from envs.driving.env import DrivingVectorEnv


@pytest.mark.parametrize(
    "env_id, steps, kind",
    [("simdrive/Highway-v0", 45, "meta"), ("simdrive/Racetrack-v0", 30, "continuous"), ("simdrive/Roundabout-v0", 40, "meta"),
     ("simdrive/Intersection-v0", 40, "meta"), ("simdrive/Merge-v0", 40, "meta")],
)
def test_batched_equals_single_step_for_step(env_id, steps, kind):
    n = 4
    obs_cfg = ("kinematics", "lidar")
    venv = gym.make_vec(env_id, num_envs=n, observation=obs_cfg, vehicles=12)
    assert isinstance(venv, DrivingVectorEnv)
    singles = [gym.make(env_id, observation=obs_cfg, vehicles=12) for _ in range(n)]
    vo, _ = venv.reset(seed=100)
    so = [e.reset(seed=100 + i)[0] for i, e in enumerate(singles)]
    for i in range(n):
        for k in obs_cfg:
            assert np.array_equal(vo[k][i], so[i][k])
    rng = np.random.default_rng(0)
    pending = [False] * n
    resets = 0
    for _ in range(steps):
        if kind == "meta":
            a = rng.integers(0, 5, n)
        else:
            a = np.stack([rng.uniform(-0.3, 0.3, n), rng.uniform(0, 1, n), np.zeros(n)], 1).astype(np.float32)
        vo, vr, vt, vtr, _ = venv.step(a)
        for i, e in enumerate(singles):
            if pending[i]:  # next-step autoreset
                o, r, t, tr = e.reset()[0], 0.0, False, False
                resets += 1
            else:
                o, r, t, tr, _ = e.step(a[i])
            pending[i] = t or tr
            assert (t, tr) == (bool(vt[i]), bool(vtr[i]))
            assert r == vr[i]
            for k in obs_cfg:
                assert np.array_equal(vo[k][i], o[k])
    if env_id == "simdrive/Highway-v0":
        assert resets >= n  # the 40-step time limit forced autoresets


def test_vector_env_spaces_and_autoreset_mode():
    venv = gym.make_vec("simdrive/Highway-v0", num_envs=3)
    assert venv.observation_space.shape == (3,) + venv.single_observation_space.shape
    assert venv.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    obs, _ = venv.reset(seed=0)
    assert venv.observation_space.contains(obs)

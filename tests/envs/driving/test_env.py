import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers the ids)
from envs.driving.config import HighwayConfig

IDS = ["simdrive/Highway-v0", "simdrive/Merge-v0", "simdrive/Racetrack-v0", "simdrive/Intersection-v0", "simdrive/Roundabout-v0"]


@pytest.mark.parametrize("env_id", IDS)
def test_check_env(env_id):
    env = gym.make(env_id, vehicles=10)
    check_env(env.unwrapped, skip_render_check=True)
    from stable_baselines3.common.env_checker import check_env as sb3_check

    sb3_check(env.unwrapped, warn=False)


def test_dict_observation_of_all_sensors():
    env = gym.make("simdrive/Highway-v0", observation=("kinematics", "lidar", "occupancy", "camera"), vehicles=10)
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    assert set(obs) == {"kinematics", "lidar", "occupancy", "camera"}
    assert obs["camera"].shape == (84, 84, 3) and obs["lidar"].shape == (64, 2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"vehicels": 3}, "unknown HighwayConfig key.*vehicels.*valid keys"),
        ({"lidar_beams": 0}, "lidar_beams"),
        ({"policy_frequency": 30.0}, "policy_frequency"),
        ({"lanes": 12}, "lanes"),
        ({"observation": ("radar",)}, "radar"),
        ({"action": "joystick"}, "action"),
        ({"disturbance_rate": -0.1}, "disturbance_rate"),
        ({"disturbance_depth": (0.6, 0.3)}, "disturbance_depth"),
        ({"disturbance_hold": (-1.0, 2.0)}, "disturbance_hold"),
    ],
)
def test_config_errors_name_the_key(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gym.make("simdrive/Highway-v0", **kwargs)


def test_config_wrong_type_and_config_object():
    with pytest.raises(TypeError, match="vehicles"):
        gym.make("simdrive/Highway-v0", vehicles=2.5)
    env = gym.make("simdrive/Highway-v0", config=HighwayConfig(vehicles=7, lanes=3))
    assert env.unwrapped.config.lanes == 3 and env.unwrapped.world.V == 8
    env = gym.make("simdrive/Highway-v0", config={"vehicles": 7}, lanes=2)
    assert env.unwrapped.config.lanes == 2
    env = gym.make("simdrive/Highway-v0", observation="lidar,kinematics")  # as typed on a command line
    assert env.unwrapped.config.observation == ("lidar", "kinematics")


def _rollout(env, seed, n=15):
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(0)
    out = [obs]
    for _ in range(n):
        obs, r, term, trunc, info = env.step(int(rng.integers(5)))
        out += [obs, r, info["distance"]]
        if term or trunc:
            break
    return out


def test_determinism_under_seed():
    env = gym.make("simdrive/Highway-v0", observation=("kinematics", "lidar"))
    a, b = _rollout(env, 3), _rollout(env, 3)
    c = _rollout(env, 4)
    flat = lambda xs: np.concatenate([np.ravel(np.concatenate([np.ravel(v) for v in x.values()]) if isinstance(x, dict) else x) for x in xs])  # noqa: E731
    assert np.array_equal(flat(a), flat(b))
    assert not np.array_equal(flat(a)[: len(flat(c))], flat(c)[: len(flat(a))])


def test_reward_terms_and_events_in_info():
    env = gym.make("simdrive/Highway-v0")
    env.reset(seed=0)
    v0 = float(env.unwrapped.world.v[0, 0])
    _, r, _, _, info = env.step(1)
    terms = [k for k in info if k.startswith("reward_")]
    assert set(terms) == {f"reward_{k}" for k in ("progress", "speed", "centering", "collision", "offroad", "red_light", "goal", "headway", "ttc")}
    assert r == pytest.approx(sum(info[k] for k in terms))
    for k in ("crashed", "hit", "offroad", "ran_red_light", "distance", "route_completion"):
        assert k in info
    assert info["distance"] == pytest.approx(v0, rel=0.1)  # 1 s at about its initial speed


def test_offroad_terminates():
    env = gym.make("simdrive/Highway-v0", action="continuous", policy_frequency=5.0, vehicles=0)
    env.reset(seed=0)
    for _ in range(50):
        _, r, term, trunc, info = env.step(np.array([1.0, 0.0, 0.0], np.float32))  # hard left
        if term:
            break
    assert term and info["offroad"] and info["reward_offroad"] < 0 and not info["crashed"]


def test_collision_terminates_with_what_was_hit():
    env = gym.make("simdrive/Highway-v0", vehicles=0, obstacles=1)
    env.reset(seed=0)
    w = env.unwrapped.world
    w.place_obstacle(0, 1, int(w.lane[0, 0]), float(w.s[0, 0]) + 20.0)
    _, r, term, _, info = env.step(1)
    assert term and info["crashed"] and info["hit"] == "obstacle" and info["reward_collision"] < 0


def test_meta_actions_change_lane_and_speed():
    env = gym.make("simdrive/Highway-v0", vehicles=0)
    env.reset(seed=1, options={"ego_lane": 1})
    w = env.unwrapped.world
    lane0 = int(w.lane[0, 0])
    env.step(0)  # lane left
    env.step(1)
    assert w.lane[0, 0] == lane0 + 1
    v0 = w.v[0, 0]
    env.step(3)  # faster
    env.step(3)
    assert w.v[0, 0] > v0 + 3.0


def test_render_rgb_array():
    env = gym.make("simdrive/Highway-v0", render_mode="rgb_array", observation=("lidar",), render_width=200, render_height=100)
    env.reset(seed=0)
    env.step(1)
    img = env.render()
    assert img.shape == (100, 200, 3) and img.dtype == np.uint8 and img.std() > 5


@pytest.mark.parametrize("gap_in_seconds", [0.25, 0.5, 0.75, 2.0])
def test_headway_penalty_grows_as_the_time_gap_to_the_leader_shrinks(gap_in_seconds):
    weight, headway_time = 2.0, 1.0
    env = gym.make("simdrive/Highway-v0", vehicles=1, obstacles=0, disturbance_rate=0.0,
                   headway_weight=weight, headway_time=headway_time)
    env.reset(seed=0)
    w = env.unwrapped.world
    v = float(w.ego_target_speed[0])
    w.v[0, 0] = v
    # a scripted leader in the ego's lane at the ego's speed: the bumper gap stays as placed
    _scripted_leader(env, gap_in_seconds * v, v)
    _, r, term, _, info = env.step(1)
    assert not term
    expected = -weight * max(0.0, 1.0 - gap_in_seconds / headway_time)
    assert info["reward_headway"] == pytest.approx(expected, abs=0.05 * weight)
    assert r == pytest.approx(sum(info[k] for k in info if k.startswith("reward_")))


def _scripted_leader(env, gap: float, speed: float) -> None:
    """A scripted car in the ego's lane, ``gap`` [m] bumper to bumper ahead, at ``speed`` [m/s], not accelerating."""
    w = env.unwrapped.world
    lane = int(w.lane[0, 0])
    w.place_obstacle(0, 1, lane, float(w.s[0, 0]) + gap + 0.5 * (float(w.length[0, 0]) + 4.0), speed=speed,
                     kind=envs.driving.state.SCRIPTED)
    w.set_script(0, 1, acc=0.0, lane=lane)


@pytest.mark.parametrize("ttc_after_the_step", [0.5, 1.5, 4.0])
def test_ttc_penalty_grows_as_the_time_to_collision_shrinks(ttc_after_the_step):
    weight, ttc_time, closing = 2.0, 3.0, 5.0  # closing speed [m/s]
    env = gym.make("simdrive/Highway-v0", vehicles=1, obstacles=0, disturbance_rate=0.0, ttc_weight=weight, ttc_time=ttc_time)
    env.reset(seed=0)
    w = env.unwrapped.world
    v = float(w.ego_target_speed[0])
    w.v[0, 0] = v
    _scripted_leader(env, (ttc_after_the_step + 1.0) * closing, v - closing)  # one 1 s decision closes 5 m
    _, _, term, _, info = env.step(1)
    assert not term
    expected = -weight * max(0.0, 1.0 - ttc_after_the_step / ttc_time)
    assert info["reward_ttc"] == pytest.approx(expected, abs=0.05 * weight)
    assert info["min_ttc"] == pytest.approx(ttc_after_the_step, abs=0.1)


def test_control_no_headway_or_ttc_penalty_without_weights_or_leader():
    env = gym.make("simdrive/Highway-v0", vehicles=0, obstacles=0)  # default weight 0
    env.reset(seed=0)
    info = env.step(1)[4]
    assert info["reward_headway"] == 0.0 and info["reward_ttc"] == 0.0
    env = gym.make("simdrive/Highway-v0", vehicles=0, obstacles=0, headway_weight=1.0, ttc_weight=1.0)
    env.reset(seed=0)
    info = env.step(1)[4]
    assert info["reward_headway"] == 0.0 and info["reward_ttc"] == 0.0  # no leader: an infinite gap

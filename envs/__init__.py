"""SimDrive's Gymnasium environments, registered under the ``simdrive/`` namespace.

Importing this package registers every environment::

    import gymnasium as gym, envs
    env = gym.make("simdrive/GridWorld4x4-v0", render_mode="rgb_array")
"""

from __future__ import annotations

from importlib.util import find_spec

from gymnasium.envs.registration import register, registry

#: One line per registered id, shown by ``simdrive envs``.
DESCRIPTIONS: dict[str, str] = {}


def _register(env_id: str, description: str, **kwargs) -> None:
    DESCRIPTIONS[env_id] = description
    if env_id not in registry:
        register(id=env_id, **kwargs)


_register(
    "simdrive/GridWorld4x4-v0",
    "Sutton & Barto Example 4.1: 4x4 grid, two terminal corners, -1 per move",
    entry_point="envs.gridworld:GridWorld4x4Env",
    max_episode_steps=200,
)
_register(
    "simdrive/GridWorld5x5-v0",
    "Sutton & Barto Example 3.5: 5x5 grid with A->A' (+10) and B->B' (+5) jumps, continuing task",
    entry_point="envs.gridworld:GridWorld5x5Env",
    max_episode_steps=100,
)
_register(
    "simdrive/Maze-v0",
    "Maze from ASCII or a seeded generator; walls, goal, carrots, traps, optional slippery moves",
    entry_point="envs.maze:MazeEnv",
    max_episode_steps=500,
)
_register(
    "simdrive/Bandit-v0",
    "k-armed bandit testbed: Gaussian arms with N(0,1) means (or Bernoulli arms)",
    entry_point="envs.bandit:BanditEnv",
    max_episode_steps=1000,
)
_register(
    "simdrive/CartPole-v1",
    "Cart-pole balancing, Gymnasium CartPole-v1 dynamics, natively batched",
    entry_point="envs.cartpole:CartPoleEnv",
    vector_entry_point="envs.cartpole:CartPoleVectorEnv",
    max_episode_steps=500,
    reward_threshold=475.0,
)
# Board games (envs/boardgames) and the driving simulator (envs/driving) register below.
_register(
    "simdrive/TicTacToe-v0",
    "Tic-tac-toe, two players (or opponent='random'); action mask, copyable state, +1 to the winner",
    entry_point="envs.boardgames.tictactoe:TicTacToeEnv",
    max_episode_steps=10,
)
_register(
    "simdrive/ConnectFour-v0",
    "Connect Four 6x7, two players (or opponent='random'); action mask, copyable state, +1 to the winner",
    entry_point="envs.boardgames.connect4:ConnectFourEnv",
    max_episode_steps=43,
)

# Top-down driving simulator (envs/driving): natively batched with gymnasium.make_vec.
_register(
    "simdrive/Highway-v0",
    "Top-down 4-lane highway, 50 IDM/MOBIL vehicles (with speed disturbances): 750 m in 75 s, meta-actions at 1 Hz, batched natively",
    entry_point="envs.driving.env:HighwayEnv",
    vector_entry_point="envs.driving.env:HighwayVectorEnv",
    max_episode_steps=75,
)
_register(
    "simdrive/Merge-v0",
    "Top-down highway with an on-ramp: ramp traffic merges in front of the ego (meta-actions, 5 Hz)",
    entry_point="envs.driving.env:MergeEnv",
    vector_entry_point="envs.driving.env:MergeVectorEnv",
    max_episode_steps=300,
)
_register(
    "simdrive/Racetrack-v0",
    "Top-down closed curvy two-lane track, one lap, continuous steer/throttle/brake at 5 Hz",
    entry_point="envs.driving.env:RacetrackEnv",
    vector_entry_point="envs.driving.env:RacetrackVectorEnv",
    max_episode_steps=600,
)
_register(
    "simdrive/Intersection-v0",
    "Top-down signalized four-way intersection: turn left through cross traffic, stop on red (meta-actions, 5 Hz)",
    entry_point="envs.driving.env:IntersectionEnv",
    vector_entry_point="envs.driving.env:IntersectionVectorEnv",
    max_episode_steps=400,
)
_register(
    "simdrive/Roundabout-v0",
    "Top-down one-lane roundabout: give way to the ring, leave at the 2nd exit (meta-actions, 5 Hz)",
    entry_point="envs.driving.env:RoundaboutEnv",
    vector_entry_point="envs.driving.env:RoundaboutVectorEnv",
    max_episode_steps=500,
)
# Gymnasium's CarRacing-v3 with the imitation chapter's 7 actions and 84x84 frames (needs Box2D: simdrive[carracing])
if find_spec("Box2D") is not None:
    _register(
        "simdrive/CarRacing-v0",
        "Gymnasium CarRacing-v3, 7 discrete actions, 84x84 frames, scripted track-following expert (Box2D)",
        entry_point="envs.carracing:CarRacing7Env",
        max_episode_steps=1000,
    )

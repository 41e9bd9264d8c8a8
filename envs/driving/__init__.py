"""SimDrive's top-down driving simulator.

The engine (``road``, ``maps``, ``world``, ``traffic``, ``collision``, ``sensors``) is a numpy
struct-of-arrays program with no Python loop over vehicles, beams or lanes in a step; it
steps N worlds at once. ``env`` is the thin Gymnasium layer (single env and natively batched
vector env), ``render`` draws with opencv, ``expert`` is the rule-based autopilot
(``env.unwrapped.expert_action()``). Registered ids: ``simdrive/Highway-v0``,
``simdrive/Merge-v0``, ``simdrive/Intersection-v0``, ``simdrive/Roundabout-v0``,
``simdrive/Racetrack-v0`` (see ``envs/__init__.py``).
"""

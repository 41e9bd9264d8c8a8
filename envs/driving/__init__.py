"""SimDrive's top-down driving simulator.

The engine is a struct-of-arrays program over N worlds at once: the road, maps and sensors in
numpy, one physics step compiled with numba (``physics`` and the behaviour modules it calls:
``longitudinal``, ``lanechange``, ``junctions``, ``spawning``, ``collision``); ``world`` owns the
state arrays. ``env`` is the thin Gymnasium layer (single env and natively batched
vector env), ``render`` draws with opencv, ``expert`` is the rule-based autopilot
(``env.unwrapped.expert_action()``). Registered ids: ``simdrive/Highway-v0``,
``simdrive/Merge-v0``, ``simdrive/Intersection-v0``, ``simdrive/Roundabout-v0``,
``simdrive/Racetrack-v0`` (see ``envs/__init__.py``).
"""

from . import kernel_cache as _kernel_cache

_kernel_cache.check()

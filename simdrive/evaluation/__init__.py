"""Scenario suites and driving-policy evaluation.

``schema`` (scenario/suite files -> typed specs), ``probe`` (the per-physics-step ego trace),
``episodes`` (the episode loop and one scenario's repetitions), ``records`` (episode records
and their scores), ``metrics`` (CARLA, nuPlan and MetaDrive definitions), ``suite`` (running a
suite sequentially or on Ray), ``report`` (JSON + HTML), ``clips`` (failure animations).
"""

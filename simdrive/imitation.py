"""Platform pieces of imitation learning: the confusion-matrix picture of a behavioural-cloning
run, and action names for it. The learning itself is in :mod:`agents.bc` / :mod:`agents.dagger`;
the data in :mod:`simdrive.data`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np


def class_names(env: Any, n: int) -> list[str]:
    """Names of ``env``'s ``n`` discrete actions where known (driving meta / 7 discrete actions)."""
    from simdrive.data import action_names

    spec = getattr(env, "spec", None)
    names = action_names(getattr(spec, "id", None), getattr(env, "action_space", None))
    return names if names is not None and len(names) == n else [str(i) for i in range(n)]


def confusion_png(matrix: np.ndarray, names: Sequence[str], path: Path, title: str) -> Path:
    """Row-normalised confusion matrix (rows: true action, columns: predicted), counts in cells."""
    from simdrive.plots import _pyplot

    plt = _pyplot()
    m = np.asarray(matrix, float)
    rows = m.sum(1, keepdims=True)
    share = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    n = len(m)
    fig, ax = plt.subplots(figsize=(1.2 * n + 2.5, 1.0 * n + 2.0), dpi=100)
    im = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{int(m[i, j])}\n{100 * share[i, j]:.0f}%", ha="center", va="center", fontsize=8,
                    color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(n), names, rotation=45, ha="right")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted action")
    ax.set_ylabel("demonstrated action")
    ax.set_title(f"{title}\nvalidation accuracy {np.trace(m) / max(m.sum(), 1):.3f}")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of the row")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


class SuiteEnv:
    """One Gymnasium-style env that plays a suite's scenarios in turn (a new scenario and held-out
    repetition at every reset), with the expert of the current scenario's env: the learner's
    world for DAgger on a suite. ``env_kwargs`` are the policy's own settings (observation...)."""

    #: learner repetitions start here: apart from evaluation (0, 1, ...) and demonstrations
    REPETITION_OFFSET = 5000

    def __init__(self, suite: str, env_kwargs: dict[str, Any] | None = None, seed: int = 0):
        import gymnasium as gym

        from simdrive.evaluation.schema import load_suite

        self.spec_suite = load_suite(suite)
        self.env_kwargs = dict(env_kwargs or {})
        self.count = int(seed)
        self.env: Any = None
        probe = self._make(0)
        self.observation_space, self.action_space = probe.observation_space, probe.action_space
        probe.close()
        self.metadata = {"render_modes": []}
        self.render_mode = None
        self.spec = None
        self.unwrapped = self
        self.np_random = gym.utils.seeding.np_random(seed)[0]

    def _make(self, index: int):
        from simdrive.evaluation.episodes import make_scenario_env
        from simdrive.evaluation.schema import sample

        scenarios = self.spec_suite.scenarios
        scenario = scenarios[index % len(scenarios)]
        self._sampled = sample(self.spec_suite, scenario, self.REPETITION_OFFSET + index // len(scenarios))
        return make_scenario_env(self._sampled, self.env_kwargs)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if self.env is not None:
            self.env.close()
        self.env = self._make(self.count)
        self.count += 1
        return self.env.reset(seed=self._sampled.seed, options={"scenario": self._sampled.script()})

    def step(self, action):
        return self.env.step(action)

    def expert_action(self):
        return self.env.unwrapped.expert_action()

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
            self.env = None

"""Tuned hyperparameters per agent and environment (as RL Baselines3 Zoo's ``hyperparams/*.yml``).

One YAML file per agent ships in this package (``dqn.yml``, ``sb3-ppo.yml`` for ``sb3:ppo``),
mapping environment ids to an entry::

    simdrive/CartPole-v1:
      produced_by:                       # how the entry was found (required)
        command: python benchmarks/cartpole_training.py --algos dqn --seeds 0,1,2,3,4
        seeds: [0, 1, 2, 3, 4]
        result: solved on 5 of 5 seeds
      budget: {steps: 50000}             # default --steps / --episodes
      eval_every: 2500                   # evaluation during training [steps, or episodes for an episode budget]
      eval_episodes: 20                  # deterministic episodes per evaluation [-]
      settings:                          # agent settings, as with --set (validated the same way)
        num_envs: 8
        hidden: [64, 64]

``simdrive train AGENT ENV`` uses the shipped entry for ENV by default; ``--hparams FILE``
reads a file of the same format instead (``simdrive sweep`` writes one); ``--set`` still
overrides single settings. Every value goes through the checks of ``--set``
(:func:`simdrive.config.build_config`): unknown keys, types and documented ranges.
Files are read with :func:`simdrive.config.load_yaml` (no anchors, bounded size).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from agents.base import Budget
from simdrive.config import build_config, load_yaml, parse_overrides, parse_value, read_text_file
from simdrive.errors import UserError

#: The folder of the shipped files.
HPARAMS_DIR = Path(__file__).resolve().parent
#: Keys of one environment's entry.
ENTRY_KEYS = ("produced_by", "budget", "eval_every", "eval_episodes", "settings")
#: Limits of a hyperparameter file [bytes].
MAX_FILE_BYTES = 1_000_000

#: Where a value comes from, as printed by ``simdrive agents AGENT --env ENV``.
DEFAULT, SET, CHECKPOINT = "default", "--set", "checkpoint"


@dataclass(frozen=True)
class Provenance:
    """How a tuned entry was produced: the command that found (or checked) it and its seeds."""

    command: str  # the command line that produced or verified the entry
    seeds: tuple[int, ...]  # the seeds it was run with [-]
    result: str = ""  # what it reached, in words


@dataclass(frozen=True)
class TunedEntry:
    """One environment's tuned hyperparameters for one agent."""

    env_id: str  # the environment id the entry is for
    source: str  # the file it was read from (shown as the source of its values)
    produced_by: Provenance  # how it was found
    settings: Mapping[str, Any] = field(default_factory=dict)  # agent settings (raw YAML values; checked on use)
    budget: Budget | None = None  # default training budget
    eval_every: int | None = None  # evaluation interval [steps, or episodes for an episode budget]; 0 = off
    eval_episodes: int | None = None  # deterministic episodes per evaluation during training [-]


def file_name(agent: str) -> str:
    """The shipped file of ``agent``: ``dqn.yml``, ``sb3-ppo.yml`` for ``sb3:ppo``."""
    return agent.replace(":", "-") + ".yml"


def shipped_path(agent: str) -> Path:
    return HPARAMS_DIR / file_name(agent)


def display_path(path: Path) -> str:
    """``simdrive/hparams/dqn.yml`` for a shipped file, the path as given otherwise."""
    try:
        return str(Path("simdrive/hparams") / path.resolve().relative_to(HPARAMS_DIR))
    except ValueError:
        return str(path)


def _positive_int(value: Any, what: str, allow_zero: bool = False) -> int:
    if isinstance(value, str):
        try:
            value = parse_value(value, int)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        raise UserError(f"{what} must be a whole number {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return value


def _entry(env_id: str, raw: Any, source: str) -> TunedEntry:
    where = f"{source}: {env_id}"
    if not isinstance(raw, Mapping):
        raise UserError(f"{where}: expected a mapping with keys {', '.join(ENTRY_KEYS)}")
    unknown = [str(key) for key in raw if key not in ENTRY_KEYS]
    if unknown:
        raise UserError(f"{where}: unknown key '{unknown[0]}'; valid keys: {', '.join(ENTRY_KEYS)}")
    made = raw.get("produced_by")
    if not isinstance(made, Mapping) or not isinstance(made.get("command"), str) or not made.get("command"):
        raise UserError(f"{where}: 'produced_by' needs 'command' (how the entry was found) and 'seeds'")
    seeds = made.get("seeds", [])
    if not isinstance(seeds, list) or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise UserError(f"{where}: produced_by.seeds must be a list of whole numbers")
    provenance = Provenance(made["command"], tuple(seeds), str(made.get("result", "")))
    budget = None
    if raw.get("budget") is not None:
        spec = raw["budget"]
        if not isinstance(spec, Mapping) or not spec or set(spec) - {"steps", "episodes"}:
            raise UserError(f"{where}: budget must be {{steps: N}} or {{episodes: N}}")
        budget = Budget(**{key: _positive_int(value, f"{where}: budget {key}") for key, value in spec.items()})
    settings = raw.get("settings") or {}
    if not isinstance(settings, Mapping) or not all(isinstance(key, str) for key in settings):
        raise UserError(f"{where}: settings must be a mapping of agent settings")
    eval_every = raw.get("eval_every")
    eval_episodes = raw.get("eval_episodes")
    return TunedEntry(
        env_id, source, provenance, dict(settings), budget,
        None if eval_every is None else _positive_int(eval_every, f"{where}: eval_every", allow_zero=True),
        None if eval_episodes is None else _positive_int(eval_episodes, f"{where}: eval_episodes"),
    )


def load_file(path: str | Path) -> dict[str, TunedEntry]:
    """Read and check a hyperparameter file (see the module docstring): env id -> entry."""
    path = Path(path)
    source = display_path(path)
    content = load_yaml(read_text_file(path, "hyperparameter file", "--hparams", MAX_FILE_BYTES), source)
    if content is None:
        return {}
    if not isinstance(content, Mapping):
        raise UserError(f"{source}: expected a mapping from environment ids to entries")
    return {str(env_id): _entry(str(env_id), raw, source) for env_id, raw in content.items()}


def tuned_entry(agent: str, env_id: str, path: str | Path | None = None) -> TunedEntry | None:
    """The entry for ``env_id``: from ``path`` (``--hparams``; a missing entry is an error) or
    from the shipped file of ``agent`` (None when there is none)."""
    if path is not None:
        entries = load_file(path)
        if env_id not in entries:
            listed = ", ".join(entries) or "none"
            raise UserError(f"hyperparameter file {path} has no entry for {env_id} (it has: {listed})")
        return entries[env_id]
    shipped = shipped_path(agent)
    if not shipped.is_file():
        return None
    return load_file(shipped).get(env_id)


def _typed(config_cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """YAML values in the types of ``config_cls``: strings parsed like ``--set`` (``1e-3``)."""
    hints = typing.get_type_hints(config_cls)
    typed = {}
    for key, value in values.items():
        annotation = hints.get(key)
        if isinstance(value, str) and annotation is not None and annotation is not str:
            try:
                value = parse_value(value, annotation)
            except ValueError:
                pass  # build_config names the problem
        typed[key] = tuple(value) if isinstance(value, list) else value
    return typed


@dataclass(frozen=True)
class ResolvedSettings:
    """An agent configuration and where each of its values comes from."""

    config: Any  # the agent's frozen configuration
    sources: Mapping[str, str]  # setting -> "default", the tuned file, "checkpoint" or "--set"


def resolve_settings(cls: type, entry: TunedEntry | None, overrides: Sequence[str],
                     base: Mapping[str, Any] | None = None, base_source: str = CHECKPOINT) -> ResolvedSettings:
    """Agent defaults, then ``base`` (a checkpoint's configuration) or the tuned ``entry``, then
    ``--set`` ``overrides``; each layer checked like ``--set``."""
    values: dict[str, Any] = {}
    sources = {f.name: DEFAULT for f in dataclasses.fields(cls.Config)}
    if base is not None:
        values.update(base)
        sources.update({key: base_source for key in base})
    elif entry is not None:
        tuned = _typed(cls.Config, entry.settings)
        try:
            build_config(cls.Config, tuned, cls.name)
        except UserError as error:
            raise UserError(f"{entry.source} ({entry.env_id}): {error}") from None
        values.update(tuned)
        sources.update({key: entry.source for key in tuned})
    overridden = parse_overrides(overrides, cls.Config, cls.name)
    values.update(overridden)
    sources.update({key: SET for key in overridden})
    return ResolvedSettings(build_config(cls.Config, values, cls.name), sources)


def write_file(path: str | Path, env_id: str, settings: Mapping[str, Any], produced_by: Provenance,
               budget: Budget | None = None, eval_every: int | None = None, eval_episodes: int | None = None) -> Path:
    """Write a one-entry hyperparameter file that ``--hparams`` reads (temporary name, then renamed)."""
    import os

    import yaml

    from simdrive.config import to_yaml

    entry: dict[str, Any] = {"produced_by": {"command": produced_by.command, "seeds": list(produced_by.seeds)}}
    if produced_by.result:
        entry["produced_by"]["result"] = produced_by.result
    if budget is not None:
        entry["budget"] = {k: v for k, v in (("steps", budget.steps), ("episodes", budget.episodes)) if v is not None}
    if eval_every is not None:
        entry["eval_every"] = int(eval_every)
    if eval_episodes is not None:
        entry["eval_episodes"] = int(eval_episodes)
    entry["settings"] = dict(settings)
    text = to_yaml({env_id: entry})
    yaml.safe_load(text)  # what we write reads back
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return path


__all__ = ["TunedEntry", "Provenance", "ResolvedSettings", "load_file", "tuned_entry", "resolve_settings", "write_file",
           "shipped_path", "display_path", "HPARAMS_DIR"]

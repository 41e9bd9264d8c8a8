"""Demonstration datasets in Minari's format: collect them (the expert, with ChauffeurNet
perturbations), record them (a person at the keyboard, see :mod:`simdrive.drive`), inspect them.

A dataset is a Minari dataset (Farama's standard for offline RL data, ``minari[hdf5]``) named
by a Minari id such as ``simdrive/highway-expert-v0``; it lives in Minari's local folder
(``$MINARI_DATASETS_PATH``, default ``~/.minari/datasets``), so anyone loads it with
``minari.load_dataset("simdrive/highway-expert-v0")``. Reading commands also accept the path of
a dataset folder. Every episode holds the observations of every sensor the env was built with
(a ``Dict`` observation for the driving envs), the actions, rewards, terminations and
truncations, a few per-step ``infos``, and metadata: ``seed``, ``scenario``, ``source``
(``expert`` or ``human``), ``env_id``, ``outcome`` (``success``, ``crash``, ``offroad``,
``timeout``, ``end``) and ``episode_return``. Images are stored losslessly (no JPEG).

Writing is crash-safe: episodes go into a hidden ``.NAME.partial-PID`` folder beside the final
one; :meth:`DatasetWriter.close` renames it into place. An interrupted collection (Ctrl-C,
SIGTERM) closes the writer with the episodes completed so far: never a half episode, and
never a half-written dataset under the final name.

Perturbations (Bansal et al. 2018, "ChauffeurNet", section 5.2): during a perturbed
episode, at the start of an env step, with probability ``p``, the ego is pushed off its path:
moved sideways by up to ``lateral`` metres (kept on the road) and turned by up to ``heading``
radians. The expert's reaction to the perturbed state is what is recorded: every stored
action is the expert's label for the stored observation; the push is a change of state, not
an action.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import sys
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import gymnasium as gym
import numpy as np

from simdrive.errors import UserError

#: the sensors a driving env records by default: every one it has
ALL_SENSORS = "kinematics,lidar,occupancy,camera,birdseye"
#: per-step info keys stored with every episode (when the env reports them)
INFO_KEYS = ("route_completion", "crashed", "offroad", "speed")
EXTRA = "simdrive[data]"


def _minari():
    try:
        import minari
    except ImportError:
        raise UserError(f"datasets need Minari: pip install '{EXTRA}' (minari[hdf5])") from None
    return minari


# ----------------------------------------------------------------------------- names
def check_dataset_id(dataset_id: str) -> str:
    """Validate a Minari dataset id (``namespace/name-vN``); a bad one is a one-line user error."""
    minari = _minari()
    try:
        minari.dataset.minari_dataset.parse_dataset_id(dataset_id)
    except (ValueError, TypeError):
        raise UserError(
            f"bad dataset name '{dataset_id}': use a Minari id such as simdrive/highway-expert-v0 "
            "(optional namespace/, a name, then -v and a version number)"
        ) from None
    return dataset_id


def dataset_dir(dataset_id: str) -> Path:
    """The folder of dataset ``dataset_id`` in Minari's local store (it may not exist yet)."""
    from minari.storage.datasets_root_dir import get_dataset_path

    return Path(get_dataset_path(check_dataset_id(dataset_id)))


def _data_path(name: str | os.PathLike[str]) -> Path:
    """The ``data`` folder of a dataset given by id or by path."""
    path = Path(name).expanduser()
    for candidate in (path, path / "data"):
        if (candidate / "metadata.json").is_file():
            return candidate
    _minari()
    if str(name).startswith((".", "/", "~")) and not path.exists():
        raise UserError(f"no dataset at {path}")
    data = dataset_dir(str(name)) / "data"
    if not (data / "metadata.json").is_file():
        raise UserError(f"no dataset '{name}' in {data.parent.parent} (MINARI_DATASETS_PATH); "
                        "make one with 'simdrive collect expert ENV --out NAME' or pass a dataset folder")
    return data


def load(name: str | os.PathLike[str]):
    """Open a dataset by Minari id or folder path; returns a ``minari.MinariDataset``."""
    minari = _minari()
    data = _data_path(name)
    try:
        return minari.MinariDataset(data)
    except (ValueError, OSError, KeyError) as error:
        raise UserError(f"cannot read the dataset at {data}: {error}") from None


# ----------------------------------------------------------------------------- writing
@dataclass
class Episode:
    """One finished episode, as arrays (observations have one more row than actions)."""

    observations: Any  # array (T+1, ...) or dict of them
    actions: np.ndarray  # (T, ...)
    rewards: np.ndarray  # (T,)
    terminations: np.ndarray  # (T,) bool
    truncations: np.ndarray  # (T,) bool
    infos: dict[str, np.ndarray]  # key -> (T+1,)
    metadata: dict[str, Any]  # seed, scenario, source, outcome, ...

    def __len__(self) -> int:
        return len(self.rewards)


class EpisodeRecorder:
    """Accumulates the steps of one episode; :meth:`finish` gives an :class:`Episode`."""

    def __init__(self, obs: Any, info: Mapping[str, Any]):
        self.obs = [obs]
        self.actions: list[Any] = []
        self.rewards: list[float] = []
        self.terms: list[bool] = []
        self.truncs: list[bool] = []
        self.infos = [self._info(info)]

    @staticmethod
    def _info(info: Mapping[str, Any]) -> dict[str, Any]:
        return {k: info.get(k, 0) for k in INFO_KEYS}

    def step(self, action: Any, obs: Any, reward: float, terminated: bool, truncated: bool, info: Mapping[str, Any]) -> None:
        self.actions.append(action)
        self.obs.append(obs)
        self.rewards.append(float(reward))
        self.terms.append(bool(terminated))
        self.truncs.append(bool(truncated))
        self.infos.append(self._info(info))

    def __len__(self) -> int:
        return len(self.rewards)

    def finish(self, metadata: Mapping[str, Any]) -> Episode:
        obs = self.obs
        if isinstance(obs[0], Mapping):
            stacked: Any = {k: np.stack([o[k] for o in obs]) for k in obs[0]}
        else:
            stacked = np.stack(obs)
        infos = {k: np.asarray([i[k] for i in self.infos]) for k in INFO_KEYS}
        meta = {"episode_return": float(np.sum(self.rewards)), **metadata}
        return Episode(stacked, np.asarray(self.actions), np.asarray(self.rewards, np.float64),
                       np.asarray(self.terms, bool), np.asarray(self.truncs, bool), infos, meta)


def outcome(info: Mapping[str, Any], terminated: bool, truncated: bool) -> str:
    """How an episode ended: success, crash, offroad, timeout or end."""
    if info.get("crashed"):
        return "crash"
    if info.get("offroad"):
        return "offroad"
    if info.get("route_completed") or info.get("success"):
        return "success"
    if truncated:
        return "timeout"
    return "end"


class DatasetWriter:
    """Writes episodes into a new Minari dataset, crash-safe (see the module docstring).

    ``hold_last``: keep the most recent episode in memory until the next one arrives (or
    :meth:`close`), so that :meth:`discard_last` can drop it (keyboard demonstrations).
    """

    def __init__(self, dataset_id: str, env: gym.Env, *, source: str, description: str = "",
                 overwrite: bool = False, hold_last: bool = False):
        minari = _minari()
        from minari.dataset.minari_storage import MinariStorage

        self.dataset_id = check_dataset_id(dataset_id)
        self.final = dataset_dir(dataset_id)
        if self.final.exists() and not overwrite:
            raise UserError(f"dataset '{dataset_id}' already exists at {self.final}; choose another name or version "
                            "(e.g. -v1), or pass --overwrite")
        self.tmp = self.final.with_name(f".{self.final.name}.partial-{os.getpid()}")
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        (self.tmp / "data").mkdir(parents=True)
        self.storage = MinariStorage.new(self.tmp / "data", observation_space=env.observation_space,
                                         action_space=env.action_space, env_spec=_spec(env), jpeg_encoding=False)
        meta = {"dataset_id": dataset_id, "algorithm_name": source, "author": {"simdrive"},
                "description": description or f"SimDrive demonstrations ({source})",
                "minari_version": minari.__version__}
        self.storage.update_metadata(meta)
        self.hold_last = hold_last
        self.pending: Episode | None = None
        self.written = 0
        self.steps = 0
        self.closed = False

    def add(self, episode: Episode) -> None:
        if len(episode) == 0:
            return
        if self.hold_last:
            if self.pending is not None:
                self._write(self.pending)
            self.pending = episode
        else:
            self._write(episode)

    def discard_last(self) -> bool:
        """Drop the episode held back (``hold_last``); False if there is none."""
        dropped, self.pending = self.pending is not None, None
        return dropped

    @property
    def episodes(self) -> int:
        return self.written + (self.pending is not None)

    def _write(self, episode: Episode) -> None:
        with interrupts_deferred():  # minari rewrites its metadata files in place: never cut one in half
            self._write_now(episode)

    def _write_now(self, episode: Episode) -> None:
        from minari.data_collector import EpisodeBuffer

        index = self.written
        buffer = EpisodeBuffer(id=index, seed=_seed(episode.metadata.get("seed")), observations=episode.observations,
                               actions=episode.actions, rewards=episode.rewards, terminations=episode.terminations,
                               truncations=episode.truncations, infos=episode.infos)
        self.storage.update_episodes([buffer])
        meta = {k: v for k, v in episode.metadata.items() if k != "seed" and v is not None}
        self.storage.update_episode_metadata([meta], [index])
        self.written += 1
        self.steps += len(episode)

    def close(self) -> Path | None:
        """Write what is held, rename the dataset into place; None (and nothing kept) if empty."""
        with interrupts_deferred():
            return self._close_now()

    def _close_now(self) -> Path | None:
        if self.closed:
            return self.final if self.written else None
        self.closed = True
        if self.pending is not None:
            self._write(self.pending)
            self.pending = None
        if self.written == 0:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return None
        self.final.parent.mkdir(parents=True, exist_ok=True)
        namespace = self.dataset_id.rpartition("/")[0]
        if namespace:
            _ensure_namespace(namespace)
        if self.final.exists():  # --overwrite: replace the old dataset only now
            shutil.rmtree(self.final)
        os.replace(self.tmp, self.final)
        return self.final

    def abort(self) -> None:
        self.closed = True
        shutil.rmtree(self.tmp, ignore_errors=True)


def _spec(env: gym.Env):
    spec = env.spec
    if spec is None:
        return None
    try:
        spec.to_json()
    except (TypeError, ValueError):  # arguments that JSON cannot hold: keep the spaces only
        return None
    return spec


def _seed(seed: Any) -> int | None:
    return None if seed is None else int(seed)


def _ensure_namespace(namespace: str) -> None:
    from minari import namespace as ns

    if namespace not in ns.list_local_namespaces():
        try:
            ns.create_namespace(namespace, description="SimDrive demonstrations")
        except ValueError:  # created meanwhile
            pass


# ----------------------------------------------------------------------------- perturbations
@dataclass(frozen=True)
class Perturbation:
    """ChauffeurNet-style pushes of the ego off its path (see the module docstring)."""

    p: float = 0.1  # probability per env step of a push [-]
    lateral: float = 1.0  # largest sideways displacement [m]
    heading: float = 0.2  # largest heading change [rad]
    clearance: float = 7.0  # no push when another vehicle is this close to the pushed ego [m]

    def __post_init__(self) -> None:
        for name, (lo, hi) in {"p": (0.0, 1.0), "lateral": (0.0, 5.0), "heading": (0.0, 1.0), "clearance": (0.0, 100.0)}.items():
            value = getattr(self, name)
            if not lo <= value <= hi:
                raise ValueError(f"perturbation {name}={value} is out of range [{lo}, {hi}]")


def parse_perturb(spec: str | None) -> Perturbation | None:
    """``None``/``off`` -> None; ``on`` -> defaults; ``p=0.2,lateral=1.5,heading=0.3`` -> those."""
    if spec is None or spec.strip().lower() in ("", "off", "none", "no"):
        return None
    if spec.strip().lower() in ("on", "default", "yes"):
        return Perturbation()
    names = {f.name for f in dataclasses.fields(Perturbation)}
    values: dict[str, float] = {}
    for part in spec.split(","):
        key, sep, text = part.partition("=")
        key = key.strip()
        if not sep or key not in names:
            raise UserError(f"--perturb: expected on, off or key=value pairs with keys {', '.join(sorted(names))}; got '{part}'")
        try:
            values[key] = float(text)
        except ValueError:
            raise UserError(f"--perturb: {key} needs a number, got '{text}'") from None
    try:
        return Perturbation(**values)
    except ValueError as error:
        raise UserError(f"--perturb: {error}") from None


class PerturbationScript:
    """A driving scenario script (``reset(options={"scenario": ...})``) that pushes the ego off
    its path; it runs an inner scenario script (a suite's) first when given one."""

    def __init__(self, perturbation: Perturbation, seed: int, inner: Any = None):
        self.perturbation = perturbation
        self.rng = np.random.default_rng([int(seed), 0x5EED])
        self.inner = inner
        self.pushes = 0

    def reset(self, core, rows) -> None:
        if self.inner is not None:
            self.inner.reset(core, rows)

    def before_physics_step(self, core) -> None:
        if self.inner is not None:
            self.inner.before_physics_step(core)
        w, pert = core.world, self.perturbation
        if w.t[0] == 0 or w.t[0] % core.cfg.substeps != 0:  # only at the start of an env step
            return
        if self.rng.random() >= pert.p:
            return
        dd, dh = self.rng.uniform(-1.0, 1.0, 2) * (pert.lateral, pert.heading)
        push_ego(w, dd, dh, pert.clearance)
        self.pushes += 1


def push_ego(world, dd: float, dh: float, clearance: float = 7.0) -> bool:
    """Move world 0's ego sideways by ``dd`` [m] (kept 1.2 m inside the road's edges) and turn it by
    ``dh`` [rad]; nothing happens when another vehicle would be within ``clearance`` [m].
    Returns whether the ego was moved."""
    r = world.road
    sec, s = int(world.sec[0, 0]), float(world.s[0, 0])
    d = float(np.clip(world.d[0, 0] + dd, r.sec_dmin[sec] + 1.2, r.sec_dmax[sec] - 1.2))
    x, y, _ = r.to_world(np.array([sec]), np.array([s]), np.array([d]))
    others = world.active[0].copy()
    others[0] = False
    if np.any(others & (np.hypot(world.x[0] - x[0], world.y[0] - y[0]) < clearance)):
        return False
    world.x[0, 0], world.y[0, 0], world.d[0, 0] = x[0], y[0], d
    world.h[0, 0] += dh
    world.lane[0, 0] = r.lane_at(np.array([sec]), np.array([d]))[0]
    return True


# ----------------------------------------------------------------------------- collection
@dataclass
class CollectSummary:
    dataset: str
    path: str | None
    episodes: int
    steps: int
    outcomes: dict[str, int]
    mean_return: float
    interrupted: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@contextmanager
def _interrupts_handled_by(handler: Callable[[int, Any], None]) -> Iterator[dict[int, Any] | None]:
    """Ctrl-C and SIGTERM go to ``handler`` inside the block; yields the handlers they replaced
    (None off the main thread, where signals cannot be handled and nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield None
        return
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield previous
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends, then hand them to the handler they would
    have met (``KeyboardInterrupt`` where that is not a Python function): a write finishes whole
    and the caller keeps what is complete."""
    held: list[int] = []
    with _interrupts_handled_by(lambda signum, frame: held.append(signum)) as previous:
        yield
    for signum in held:
        handler = previous[signum] if previous else None
        if not callable(handler):
            raise KeyboardInterrupt
        handler(signum, None)


class InterruptRequest:
    """Set by Ctrl-C or SIGTERM under :func:`interrupt_requests`; :meth:`check` raises
    ``KeyboardInterrupt`` at a point the caller chose."""

    def __init__(self) -> None:
        self.requested = False

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt


@contextmanager
def interrupt_requests() -> Iterator[InterruptRequest]:
    """Ctrl-C and SIGTERM only set a flag, checked between environment steps. A handler that
    raises wherever Python happens to be can raise inside a finalizer (an HDF5 object being
    collected, say), where Python prints the exception and drops it: a SIGTERM was lost so
    and a collection ran to its end."""
    request = InterruptRequest()

    def note(signum, frame):
        request.requested = True

    with _interrupts_handled_by(note):
        yield request


def driving_kwargs(env_id: str, env_kwargs: Mapping[str, Any], sensors: str | None) -> dict[str, Any]:
    """Env arguments for recording: every sensor of a driving env unless told otherwise."""
    from simdrive.envs_registry import make_env

    kwargs = dict(env_kwargs)
    probe = make_env(env_id, kwargs)
    try:
        config = getattr(probe.unwrapped, "config", None)
        is_driving = config is not None and hasattr(config, "observation")
    finally:
        probe.close()
    if is_driving and "observation" not in kwargs:
        kwargs["observation"] = sensors or ALL_SENSORS
    elif sensors and not is_driving:
        raise UserError(f"--sensors applies to the driving environments only, not {env_id}")
    elif sensors:
        kwargs["observation"] = sensors
    return kwargs


#: suite repetitions used for demonstrations start here, far from the evaluation's 0, 1, 2, ...
SUITE_REPETITION_OFFSET = 1000


def _episode_sources(env_id: str | None, kwargs: Mapping[str, Any], episodes: int, seed: int, suite: str | None):
    """(env, seed, scenario name, script) per episode: one env reused, or a suite's scenarios in
    turn, repetitions ``SUITE_REPETITION_OFFSET + seed + k`` (held out from evaluation seeds)."""
    from simdrive.envs_registry import make_env

    if suite is None:
        env = make_env(env_id, kwargs)
        try:
            for index in range(episodes):
                yield env, seed + index, "", None
        finally:
            env.close()
        return
    from simdrive.evaluation.episodes import make_scenario_env
    from simdrive.evaluation.schema import load_suite, sample

    spec = load_suite(suite)
    for index in range(episodes):
        scenario = spec.scenarios[index % len(spec.scenarios)]
        sampled = sample(spec, scenario, SUITE_REPETITION_OFFSET + seed + index // len(spec.scenarios))
        env = make_scenario_env(sampled, dict(kwargs))
        try:
            yield env, sampled.seed, f"{spec.name}/{scenario.name}", sampled.script()
        finally:
            env.close()


def collect_expert(env_id: str | None, env_kwargs: Mapping[str, Any], episodes: int, out: str, *, seed: int = 0,
                   perturb: Perturbation | None = None, sensors: str | None = None, overwrite: bool = False,
                   on_episode: Callable[[int, Episode], None] | None = None, suite: str | None = None) -> CollectSummary:
    """Let the env's expert drive ``episodes`` episodes into dataset ``out``: on ``env_id``
    (seeds ``seed``, ``seed+1``, ...), or on the scenarios of ``suite`` in turn (held-out
    repetitions, see :func:`_episode_sources`)."""
    from simdrive.envs_registry import make_env, resolve_env_id

    if (env_id is None) == (suite is None):
        raise UserError("give an environment or --suite NAME, not both")
    if suite is not None:
        from simdrive.evaluation.schema import load_suite

        env_id = load_suite(suite).scenarios[0].env_id
    env_id = resolve_env_id(env_id)
    kwargs = driving_kwargs(env_id, env_kwargs, sensors)
    probe = make_env(env_id, kwargs)
    try:
        if not callable(getattr(probe.unwrapped, "expert_action", None)):
            raise UserError(f"{env_id} has no built-in expert to collect from; try simdrive/Highway-v0 "
                            "(or record yourself with 'simdrive drive --record')")
        if perturb is not None and not hasattr(probe.unwrapped, "core"):
            raise UserError(f"--perturb needs a driving environment (simdrive/Highway-v0, ...), not {env_id}")
        where = f"suite {suite}" if suite else env_id
        description = f"expert demonstrations on {where}" + (f", perturbed {dataclasses.asdict(perturb)}" if perturb else "")
        writer = DatasetWriter(out, probe, source="expert", description=description, overwrite=overwrite)
    finally:
        probe.close()
    outcomes: Counter[str] = Counter()
    returns: list[float] = []
    interrupted = False
    try:
        with interrupt_requests() as interrupt:
            for index, (env, ep_seed, scenario_name, script) in enumerate(_episode_sources(env_id, kwargs, episodes, seed, suite)):
                if perturb is not None:
                    script = PerturbationScript(perturb, ep_seed, inner=script)
                options = {"scenario": script} if script is not None else {}
                episode = run_episode(env, lambda obs: env.unwrapped.expert_action(), ep_seed, options, stop=interrupt.check)
                episode.metadata.update(scenario=scenario_name, source="expert", env_id=env.spec.id if env.spec else env_id,
                                        perturbed=perturb is not None,
                                        pushes=getattr(script, "pushes", 0) if perturb else 0)
                writer.add(episode)
                outcomes[episode.metadata["outcome"]] += 1
                returns.append(episode.metadata["episode_return"])
                if on_episode is not None:
                    on_episode(index, episode)
                interrupt.check()
    except KeyboardInterrupt:
        interrupted = True
    except BaseException:
        writer.abort()
        raise
    path = writer.close()
    if path is None:
        raise UserError("no episode was completed, so no dataset was written")
    return CollectSummary(out, str(path), writer.written, writer.steps, dict(outcomes),
                          float(np.mean(returns)) if returns else float("nan"), interrupted)


def run_episode(env: gym.Env, policy: Callable[[Any], Any], seed: int, options: Mapping[str, Any] | None = None,
                max_steps: int = 100_000, stop: Callable[[], None] | None = None) -> Episode:
    """Play one episode with ``policy`` and return it (metadata: seed, outcome); ``stop`` is
    called before every step (it may raise to abandon the episode)."""
    obs, info = env.reset(seed=seed, options=dict(options) if options else None)
    rec = EpisodeRecorder(obs, info)
    terminated = truncated = False
    while not (terminated or truncated) and len(rec) < max_steps:
        if stop is not None:
            stop()
        action = policy(obs)
        obs, reward, terminated, truncated, info = env.step(action)
        rec.step(action, obs, reward, terminated, truncated, info)
    return rec.finish({"seed": seed, "outcome": outcome(info, terminated, truncated)})


# ----------------------------------------------------------------------------- inspection
def action_names(env_id: str | None, space: gym.Space) -> list[str] | None:
    """Names of a discrete action space's actions, when known (driving meta / 7 discrete)."""
    if not isinstance(space, gym.spaces.Discrete):
        return None
    try:
        from envs.driving.env import DISCRETE_ACTIONS, META_ACTIONS
    except ImportError:  # pragma: no cover
        return None
    if space.n == len(META_ACTIONS) and (env_id or "").startswith("simdrive/"):
        return list(META_ACTIONS)
    if space.n == len(DISCRETE_ACTIONS):
        return list(DISCRETE_ACTIONS)
    return None


def info(name: str | os.PathLike[str]) -> dict[str, Any]:
    """Sizes, spaces, sources, outcomes and the action histogram of a dataset."""
    dataset = load(name)
    storage = dataset.storage
    meta = list(storage.get_episode_metadata(dataset.episode_indices))
    lengths = [int(m["total_steps"]) for m in meta]
    space = dataset.action_space
    env_id = next((m.get("env_id") for m in meta if m.get("env_id")), None)
    hist: dict[str, Any]
    if isinstance(space, gym.spaces.Discrete):
        counts = np.zeros(int(space.n), np.int64)
        for episode in dataset.iterate_episodes():
            counts += np.bincount(np.asarray(episode.actions, np.int64) - int(space.start), minlength=int(space.n))[: int(space.n)]
        names = action_names(env_id, space) or [str(i) for i in range(int(space.n))]
        hist = dict(zip(names, counts.tolist()))
    else:
        acts = np.concatenate([np.asarray(e.actions, float).reshape(len(e.actions), -1) for e in dataset.iterate_episodes()])
        hist = {f"a{i}": {"mean": float(acts[:, i].mean()), "std": float(acts[:, i].std()),
                          "min": float(acts[:, i].min()), "max": float(acts[:, i].max())} for i in range(acts.shape[1])}
    obs_space = dataset.observation_space
    if isinstance(obs_space, gym.spaces.Dict):
        observations = {k: f"{tuple(s.shape)} {s.dtype}" for k, s in obs_space.spaces.items()}
    else:
        observations = {"obs": f"{tuple(obs_space.shape)} {obs_space.dtype}"}
    return {
        "dataset": str(name),
        "path": str(storage.data_path.parent),
        "episodes": len(meta),
        "steps": int(sum(lengths)),
        "episode_length": {"mean": float(np.mean(lengths)) if lengths else 0.0, "min": min(lengths, default=0),
                           "max": max(lengths, default=0)},
        "size_mb": float(storage.get_size()),
        "env_id": env_id,
        "observations": observations,
        "action_space": str(space),
        "sources": dict(Counter(str(m.get("source", "?")) for m in meta)),
        "outcomes": dict(Counter(str(m.get("outcome", "?")) for m in meta)),
        "perturbed_episodes": int(sum(bool(m.get("perturbed", False)) for m in meta)),
        "action_histogram": hist,
    }


def print_info(summary: Mapping[str, Any], as_json: bool = False) -> None:
    """The ``simdrive data info`` table (and a JSON line with ``as_json``)."""
    import json

    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=as_json)
    table = Table(title=f"dataset {summary['dataset']}", show_header=False, title_justify="left")
    for key in ("path", "env_id", "episodes", "steps", "size_mb", "action_space", "perturbed_episodes"):
        table.add_row(key, str(summary[key]))
    el = summary["episode_length"]
    table.add_row("episode length", f"mean {el['mean']:.1f}, min {el['min']}, max {el['max']}")
    table.add_row("observations", ", ".join(f"{k} {v}" for k, v in summary["observations"].items()))
    table.add_row("sources", ", ".join(f"{k}: {v}" for k, v in summary["sources"].items()))
    table.add_row("outcomes", ", ".join(f"{k}: {v}" for k, v in summary["outcomes"].items()))
    console.print(table)
    hist = summary["action_histogram"]
    actions = Table(title="actions", title_justify="left")
    if hist and all(isinstance(v, int) for v in hist.values()):
        total = max(1, sum(hist.values()))
        actions.add_column("action")
        actions.add_column("count", justify="right")
        actions.add_column("share", justify="right")
        actions.add_column("")
        for name, count in hist.items():
            actions.add_row(name, str(count), f"{100 * count / total:.1f}%", "#" * int(round(40 * count / total)))
    else:
        for col in ("dim", "mean", "std", "min", "max"):
            actions.add_column(col)
        for name, stats in hist.items():
            actions.add_row(name, *(f"{stats[k]:.3f}" for k in ("mean", "std", "min", "max")))
    console.print(actions)
    if as_json:
        sys.stdout.write(json.dumps(summary) + "\n")
        sys.stdout.flush()

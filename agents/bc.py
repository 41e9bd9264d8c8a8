"""Behavioural cloning: supervised learning of the demonstrator's action from the observation.

Training data is a Minari dataset of demonstrations (``data``: a Minari id such as
``simdrive/highway-expert-v0``, or a dataset folder). Each step's observation is paired with
the action taken there; an observation of a ``Dict`` dataset is chosen by ``obs_key`` (``auto``:
the entry whose space equals the environment's observation space, or ``birdseye`` for a
``Dict`` environment). The pipeline, as in the deep-learning text's CarRacing experiment and
ChauffeurNet:

- split by episode into training and validation sets (``val_fraction``), so that the
  validation loss measures generalisation to unseen episodes, not to neighbouring frames;
- discrete actions are classified (cross-entropy), continuous ones regressed (mean squared
  error on the action scaled to [-1, 1]);
- class balancing by weighted sampling: sample ``i`` is drawn with probability proportional
  to ``count(a_i) ** -balance_power`` (the text deletes "accelerate" samples and repeats
  "brake" samples; weights do the same without throwing data away). The default 0.5 evens
  the classes partly: full balancing (1) repeats a class seen a handful of times as often as
  the common ones, which on CarRacing made the car brake to a stop (return -70 against 174
  with 0.5, 3 demonstrations);
- augmentation: random translations of up to ``augment_shift`` pixels (image inputs);
- early stopping on the validation loss (``patience`` epochs), keeping the best weights.

The network is the text's CNN (``agents.nets.BCCNN``: three convolutions and two fully
connected layers with batch norm and dropout), a ResNet, or an MLP for vector observations.
Metrics go to the callbacks every epoch (``train_loss``, ``val_loss``, ``val_accuracy``,
``val_balanced_accuracy``); the validation confusion matrix of the best model is kept
(:meth:`BCAgent.confusion_matrix`) for the platform to draw. The training budget's
``steps`` counts samples seen (the budget's ``episodes`` is not used).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, Mapping, NamedTuple

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from .base import Budget, Callbacks, IncompatibleEnvironment
from .config_checks import COUNT, DEVICE, LEARNING_RATE, UNIT, WIDTH, WIDTHS, Range, Spec, check_config
from .nets import ResNetEncoder
from .nets.bc_cnn import BCCNN
from .nets.factory import _image_layout as image_layout
from .nets.mlp import MLP
from .torch_utils import (
    add_batch_dim,
    init_module,
    load_module_state,
    make_generator,
    module_state,
    preserve_global_rng,
    resolve_device,
)


@dataclass(frozen=True)
class BCConfig:
    """Behavioural-cloning settings (defaults: the bird's-eye raster of the driving envs)."""

    data: str = ""  # demonstrations: Minari dataset id or dataset folder (simdrive train bc ENV --data NAME)
    obs_key: str = "auto"  # which observation of a Dict dataset / env to learn from (auto: see the module doc)
    network: Literal["auto", "bccnn", "resnet", "mlp"] = "auto"  # auto: bccnn for images, mlp for vectors
    hidden: int = 256  # hidden fully connected layer of the CNN [units]
    mlp_hidden: tuple[int, ...] = (256, 256)  # MLP widths for vector observations [units]
    dropout: float = 0.3  # dropout probability [-]
    learning_rate: float = 1e-3  # Adam step size [-]
    weight_decay: float = 1e-5  # L2 penalty of AdamW [-]
    batch_size: int = 128  # samples per gradient step [-]
    epochs: int = 30  # most passes over the training set [-]
    patience: int = 4  # epochs without a better validation loss before stopping [-]
    val_fraction: float = 0.2  # share of the episodes held out for validation [-]
    balance: bool = True  # class balancing by weighted sampling (discrete actions)
    balance_power: float = 0.5  # sampling weight count(a) ** -power: 1 fully balanced, 0 natural [-]
    augment_shift: int = 2  # random translation of image inputs, each axis [px]
    skip_failed: bool = False  # leave out episodes whose outcome was a crash or off-road
    max_samples: int = 500_000  # most demonstration steps loaded [-]
    device: str = "cpu"  # torch device: cpu, cuda, auto

    RANGES: ClassVar[Mapping[str, Spec]] = {
        "hidden": WIDTH, "mlp_hidden": WIDTHS, "dropout": Range(0.0, 1.0, high_open=True), "learning_rate": LEARNING_RATE,
        "weight_decay": Range(0.0, 1.0), "batch_size": Range(1, 65_536), "epochs": Range(1, 100_000),
        "patience": Range(1, 100_000), "val_fraction": Range(0.0, 0.9), "balance_power": Range(0.0, 2.0),
        "augment_shift": Range(0, 64), "max_samples": COUNT, "device": DEVICE,
    }

    def __post_init__(self) -> None:
        check_config(self)


class Demonstrations(NamedTuple):
    """Demonstration steps as arrays: observation, action, and the episode each came from."""

    obs: np.ndarray  # (N, ...) the network's input
    actions: np.ndarray  # (N,) int64 or (N, A) float32
    episodes: np.ndarray  # (N,) episode index

    def __len__(self) -> int:
        return len(self.actions)


def concat_demos(parts: list[Demonstrations]) -> Demonstrations:
    parts = [p for p in parts if len(p)]
    return Demonstrations(*(np.concatenate([getattr(p, f) for p in parts]) for f in Demonstrations._fields))


def open_minari(data: str):
    """A Minari dataset from an id (Minari's local store) or a dataset folder."""
    try:
        import minari
    except ImportError:
        raise IncompatibleEnvironment("behavioural cloning reads Minari datasets: pip install 'simdrive[data]'") from None
    path = Path(data).expanduser()
    for candidate in (path / "data", path):
        if (candidate / "metadata.json").is_file():
            return minari.MinariDataset(candidate)
    try:
        return minari.load_dataset(data)
    except (FileNotFoundError, ValueError) as error:
        root = os.environ.get("MINARI_DATASETS_PATH", "~/.minari/datasets")
        raise IncompatibleEnvironment(f"no dataset '{data}' (Minari id in {root}, or a dataset folder): {error}") from None


class BCAgent:
    """Behavioural cloning on a demonstrations dataset (see the module docstring)."""

    name: ClassVar[str] = "bc"
    Config: ClassVar[type] = BCConfig
    num_envs: int = 1
    default_budget: ClassVar[Budget] = Budget(steps=10**12)  # epochs and early stopping decide

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: BCConfig | None = None, seed: int = 0) -> None:
        self.config = config or BCConfig()
        cfg = self.config
        self.observation_space = observation_space
        self.action_space = action_space
        self.seed = int(seed)
        self.device = resolve_device(cfg.device)
        self.key, self.input_space = self._input(observation_space, cfg.obs_key)
        if isinstance(action_space, gym.spaces.Discrete):
            self.discrete, self.out_dim = True, int(action_space.n)
        elif isinstance(action_space, gym.spaces.Box):
            self.discrete, self.out_dim = False, int(np.prod(action_space.shape))
            self._low = np.asarray(action_space.low, np.float32).reshape(-1)
            self._high = np.asarray(action_space.high, np.float32).reshape(-1)
        else:
            raise IncompatibleEnvironment(f"bc needs a Discrete or Box action space, got {action_space}")
        with preserve_global_rng():
            self.net = init_module(self._build(), make_generator(seed)).to(self.device)
        self.samples = 0  # training samples seen [-]
        self.epochs = 0
        self._confusion: np.ndarray | None = None

    # ----------------------------------------------------------------- spaces
    @staticmethod
    def _input(space: gym.Space, key: str) -> tuple[str | None, gym.spaces.Box]:
        if isinstance(space, gym.spaces.Dict):
            keys = list(space.spaces)
            if key == "auto":
                key = "birdseye" if "birdseye" in keys else next((k for k in keys if len(space[k].shape) == 3), keys[0])
            if key not in keys:
                raise ValueError(f"obs_key '{key}' is not among the observations {', '.join(keys)}")
            sub = space[key]
        else:
            key, sub = None, space
        if not isinstance(sub, gym.spaces.Box):
            raise IncompatibleEnvironment(f"bc learns from Box observations, got {sub}")
        return key, sub

    @classmethod
    def check_env(cls, env: gym.Env) -> None:
        cls._input(env.observation_space, "auto")
        if not isinstance(env.action_space, (gym.spaces.Discrete, gym.spaces.Box)):
            raise IncompatibleEnvironment(f"bc needs a Discrete or Box action space, got {env.action_space}")

    def _image_layout(self) -> tuple[bool, int, int, int] | None:
        """(channels_last, C, H, W) of image inputs, None for vectors."""
        shape = self.input_space.shape
        return image_layout(shape, None) if len(shape) == 3 else None

    def _build(self) -> nn.Module:
        cfg = self.config
        image = self._image_layout()
        kind = cfg.network
        if kind == "auto":
            kind = "bccnn" if image is not None and min(image[2:]) >= 36 else ("resnet" if image is not None else "mlp")
        if kind in ("bccnn", "resnet") and image is None:
            raise ValueError(f"network '{kind}' needs image observations (3-D), got shape {self.input_space.shape}; use network=mlp")
        if kind == "bccnn":
            last, c, h, w = image
            return BCCNN(c, h, w, self.out_dim, cfg.hidden, cfg.dropout, channels_last=last)
        if kind == "resnet":
            last, c, _, _ = image
            enc = ResNetEncoder(c, 32, 2, channels_last=last)
            return nn.Sequential(enc, nn.Dropout(cfg.dropout), nn.Linear(enc.feature_dim, self.out_dim))
        size = int(np.prod(self.input_space.shape))
        return nn.Sequential(nn.Flatten(), _Scale(1 / 255 if self.input_space.dtype == np.uint8 else 1.0),
                             MLP(size, cfg.mlp_hidden, self.out_dim))

    # ----------------------------------------------------------------- acting
    def _select(self, obs: Any) -> np.ndarray:
        return np.asarray(obs[self.key] if self.key is not None else obs)

    @torch.no_grad()
    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Actions for a batch of network inputs."""
        self.net.eval()
        out = self.net(torch.as_tensor(batch, device=self.device))
        if self.discrete:
            return out.argmax(1).cpu().numpy()
        a = np.tanh(out.cpu().numpy())
        return (self._low + (a + 1) * 0.5 * (self._high - self._low)).astype(np.float32)

    def act(self, obs: Any, explore: bool = False) -> Any:
        x = self._select(obs)
        batched = x.ndim > len(self.input_space.shape)
        actions = self.predict(x if batched else add_batch_dim(x))
        if batched:
            return actions
        return int(actions[0]) if self.discrete else actions[0].reshape(self.action_space.shape)

    # ----------------------------------------------------------------- data
    def load_demonstrations(self, data: str) -> Demonstrations:
        """The steps of dataset ``data`` as arrays (the input chosen by ``obs_key``)."""
        dataset = open_minari(data)
        key = self._dataset_key(dataset.observation_space)
        ds_actions = dataset.action_space
        if self.discrete != isinstance(ds_actions, gym.spaces.Discrete) or (self.discrete and int(ds_actions.n) != self.out_dim):
            raise IncompatibleEnvironment(f"dataset actions {ds_actions} do not match the environment's {self.action_space}; "
                                          "collect with the same action space (e.g. --env-arg action=...)")
        metas = list(dataset.storage.get_episode_metadata(dataset.episode_indices))
        obs, acts, eps, total = [], [], [], 0
        for index, (episode, meta) in enumerate(zip(dataset.iterate_episodes(), metas)):
            if self.config.skip_failed and str(meta.get("outcome", "")) in ("crash", "offroad"):
                continue
            o = episode.observations[key] if key is not None else episode.observations
            o = np.asarray(o)[:-1]  # the last observation has no action
            take = min(len(o), self.config.max_samples - total)
            if take <= 0:
                break
            obs.append(o[:take])
            acts.append(np.asarray(episode.actions)[:take])
            eps.append(np.full(take, index, np.int64))
            total += take
        if not obs:
            raise IncompatibleEnvironment(f"dataset '{data}' has no usable steps")
        a = np.concatenate(acts)
        a = a.astype(np.int64).reshape(-1) if self.discrete else a.astype(np.float32).reshape(len(a), -1)
        return Demonstrations(np.concatenate(obs), a, np.concatenate(eps))

    def _dataset_key(self, space: gym.Space) -> str | None:
        want = self.input_space
        if not isinstance(space, gym.spaces.Dict):
            if space.shape != want.shape:
                raise IncompatibleEnvironment(f"dataset observations {space.shape} do not match the environment's {want.shape}")
            return None
        keys = list(space.spaces)
        if self.key is not None and self.key in keys:
            candidates = [self.key]
        elif self.config.obs_key != "auto":
            candidates = [self.config.obs_key] if self.config.obs_key in keys else []
        else:
            candidates = [k for k in keys if space[k].shape == want.shape and space[k].dtype == want.dtype]
        if len(candidates) != 1 or space[candidates[0]].shape != want.shape:
            raise IncompatibleEnvironment(
                f"cannot tell which dataset observation ({', '.join(f'{k} {space[k].shape}' for k in keys)}) matches the "
                f"environment's {want.shape}: pass --set obs_key=NAME, or build the env with that sensor "
                "(e.g. --env-arg observation=birdseye)")
        return candidates[0]

    # ----------------------------------------------------------------- training
    def train(self, env: gym.Env, budget: Budget, callbacks: Callbacks) -> None:
        if not self.config.data:
            raise IncompatibleEnvironment("bc needs demonstrations: simdrive train bc ENV --data DATASET "
                                          "(make one with 'simdrive collect expert ENV --out NAME')")
        demos = self.load_demonstrations(self.config.data)
        self.fit(demos, budget, callbacks)
        callbacks.on_step(self.samples, self.epochs)

    def split(self, demos: Demonstrations, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Indices of training and validation steps, split by episode."""
        episodes = np.unique(demos.episodes)
        n_val = int(round(self.config.val_fraction * len(episodes)))
        if len(episodes) >= 2 and self.config.val_fraction > 0:
            n_val = min(max(n_val, 1), len(episodes) - 1)
        else:
            n_val = 0
        val_eps = rng.permutation(episodes)[:n_val]
        is_val = np.isin(demos.episodes, val_eps)
        return np.nonzero(~is_val)[0], np.nonzero(is_val)[0]

    def sample_weights(self, actions: np.ndarray) -> np.ndarray:
        """Sampling probability of each step: ``count(a) ** -balance_power``, normalised."""
        if not (self.discrete and self.config.balance):
            return np.full(len(actions), 1.0 / max(len(actions), 1))
        counts = np.bincount(actions, minlength=self.out_dim).astype(float)
        w = np.where(counts > 0, counts, 1.0) ** -self.config.balance_power
        p = w[actions]
        return p / p.sum()

    def _targets(self, actions: np.ndarray) -> torch.Tensor:
        if self.discrete:
            return torch.as_tensor(actions, dtype=torch.long, device=self.device)
        scaled = 2 * (actions - self._low) / np.maximum(self._high - self._low, 1e-6) - 1
        return torch.as_tensor(np.clip(scaled, -1, 1), dtype=torch.float32, device=self.device)

    def _loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.discrete:
            return nn.functional.cross_entropy(out, target)
        return nn.functional.mse_loss(torch.tanh(out), target)

    def _augment(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        k = self.config.augment_shift
        layout = self._image_layout()
        if k <= 0 or layout is None:
            return x
        last = layout[0]
        b = len(x)
        h_ax, w_ax = (1, 2) if last else (2, 3)
        pad = [(0, 0)] * x.ndim
        pad[h_ax], pad[w_ax] = (k, k), (k, k)
        padded = np.pad(x, pad)
        dy, dx = rng.integers(0, 2 * k + 1, (2, b))
        H, W = x.shape[h_ax], x.shape[w_ax]
        rows = (dy[:, None] + np.arange(H))  # (B, H)
        cols = (dx[:, None] + np.arange(W))  # (B, W)
        bi = np.arange(b)[:, None, None]
        if last:
            return padded[bi, rows[:, :, None], cols[:, None, :]]
        moved = np.moveaxis(padded, 1, -1)[bi, rows[:, :, None], cols[:, None, :]]
        return np.ascontiguousarray(np.moveaxis(moved, -1, 1))

    @torch.no_grad()
    def evaluate(self, demos: Demonstrations, idx: np.ndarray) -> dict[str, Any]:
        """Loss, accuracy, balanced accuracy and confusion matrix on steps ``idx``."""
        self.net.eval()
        losses, preds = [], []
        for start in range(0, len(idx), 1024):
            sel = idx[start : start + 1024]
            out = self.net(torch.as_tensor(demos.obs[sel], device=self.device))
            target = self._targets(demos.actions[sel])
            losses.append(float(self._loss(out, target)) * len(sel))
            if self.discrete:
                preds.append(out.argmax(1).cpu().numpy())
        result: dict[str, Any] = {"loss": sum(losses) / max(len(idx), 1)}
        if self.discrete and len(idx):
            pred = np.concatenate(preds)
            true = demos.actions[idx]
            cm = np.zeros((self.out_dim, self.out_dim), np.int64)
            np.add.at(cm, (true, pred), 1)
            support = cm.sum(1)
            recall = np.diag(cm)[support > 0] / support[support > 0]
            result.update(accuracy=float(np.mean(pred == true)), balanced_accuracy=float(recall.mean()), confusion=cm)
        return result

    def fit(self, demos: Demonstrations, budget: Budget, callbacks: Callbacks, prefix: str = "", epochs: int | None = None) -> dict[str, Any]:
        """Train on ``demos`` with early stopping; returns the best validation metrics."""
        cfg = self.config
        if demos.obs.shape[1:] != self.input_space.shape:
            raise IncompatibleEnvironment(f"demonstration observations {demos.obs.shape[1:]} do not match {self.input_space.shape}")
        rng = np.random.default_rng([self.seed, self.samples])
        train_idx, val_idx = self.split(demos, rng)
        stop_idx = val_idx if len(val_idx) else train_idx
        p = self.sample_weights(demos.actions[train_idx])
        optimizer = torch.optim.AdamW(self.net.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        best = {"loss": np.inf}
        best_state = module_state(self.net)
        stale = 0
        started = time.perf_counter()
        for epoch in range(epochs or cfg.epochs):
            if budget.steps is not None and self.samples >= budget.steps:
                break
            self.net.train()
            order = rng.choice(train_idx, size=len(train_idx), replace=True, p=p)
            losses = []
            with preserve_global_rng():  # dropout draws from torch's global generator: seed it, then restore it
                torch.manual_seed(int(rng.integers(2**62)))
                for start in range(0, len(order), cfg.batch_size):
                    sel = np.sort(order[start : start + cfg.batch_size])
                    if len(sel) < 2:  # batch norm needs two samples
                        continue
                    x = torch.as_tensor(self._augment(demos.obs[sel], rng), device=self.device)
                    loss = self._loss(self.net(x), self._targets(demos.actions[sel]))
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    losses.append(float(loss.detach()))
                    self.samples += len(sel)
            self.epochs += 1
            val = self.evaluate(demos, stop_idx)
            metrics = {f"{prefix}train_loss": float(np.mean(losses)) if losses else float("nan"), f"{prefix}val_loss": val["loss"],
                       f"{prefix}epoch": float(self.epochs),
                       f"{prefix}samples_per_second": self.samples / max(time.perf_counter() - started, 1e-9)}
            for name in ("accuracy", "balanced_accuracy"):
                if name in val:
                    metrics[f"{prefix}val_{name}"] = val[name]
            callbacks.on_metrics(self.samples, metrics)
            if val["loss"] < best["loss"] - 1e-6:
                best, best_state, stale = val, module_state(self.net), 0
            else:
                stale += 1
            if not callbacks.on_step(self.samples, self.epochs) or stale >= cfg.patience:
                break
        load_module_state(self.net, best_state)
        self._confusion = best.get("confusion")
        self.net.eval()
        return {k: v for k, v in best.items() if k != "confusion"}

    def confusion_matrix(self) -> np.ndarray | None:
        """Validation confusion matrix of the kept model (rows: true action, columns: predicted)."""
        return self._confusion

    # ----------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"net": module_state(self.net), "counters": {"samples": self.samples, "epochs": self.epochs}}
        if self._confusion is not None:
            state["confusion"] = self._confusion
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        load_module_state(self.net, state["net"])
        counters = state.get("counters", {})
        self.samples = int(counters.get("samples", 0))
        self.epochs = int(counters.get("epochs", 0))
        confusion = state.get("confusion")
        self._confusion = None if confusion is None else np.asarray(confusion)
        self.net.eval()


class _Scale(nn.Module):
    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.float() * self.factor

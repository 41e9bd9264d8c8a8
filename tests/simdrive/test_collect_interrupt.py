"""An interrupted collection (Ctrl-C, SIGTERM) leaves a loadable dataset of whole episodes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("minari", reason="the data extra (minari[hdf5]) is not installed")
import minari  # noqa: E402


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_collection_keeps_whole_episodes(tmp_path, sig, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    env = dict(os.environ, MINARI_DATASETS_PATH=str(tmp_path), SDL_VIDEODRIVER="dummy")
    root = Path(__file__).resolve().parents[2]
    cmd = [sys.executable, "-m", "simdrive.cli", "collect", "expert", "simdrive/Highway-v0", "--episodes", "500", "--out", "simdrive/cut-v0",
           "--sensors", "kinematics", "--env-arg", "vehicles=10"]
    proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = 0
    deadline = time.monotonic() + 120
    while done < 2 and time.monotonic() < deadline:  # wait for two finished episodes, then interrupt mid-run
        line = proc.stderr.readline()
        done += line.startswith("episode ")
    time.sleep(0.3)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "kept the" in err and "Traceback" not in err
    dataset = minari.load_dataset("simdrive/cut-v0")
    assert 2 <= dataset.total_episodes < 500
    for episode in dataset.iterate_episodes():
        assert episode.terminations[-1] or episode.truncations[-1]  # no half episode
        assert len(episode.observations) == len(episode.actions) + 1
    assert not [p for p in (tmp_path / "simdrive").iterdir() if p.name.startswith(".")]  # no partial folder left


def test_a_signal_during_a_write_waits_for_the_write(tmp_path, monkeypatch):
    # the race the subprocess test can hit by chance: a signal inside minari's metadata rewrite
    # left metadata.json empty (the dataset did not load); now the write finishes first
    import gymnasium as gym

    import envs  # noqa: F401
    from simdrive.data import DatasetWriter, run_episode

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    env = gym.make("simdrive/CartPole-v1")
    writer = DatasetWriter("simdrive/signal-v0", env, source="expert")
    episode = run_episode(env, lambda obs: 0, seed=0)
    original = writer.storage.update_episode_metadata
    calls = []

    def interrupted_midway(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # arrives between the episode data and its metadata
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(writer.storage, "update_episode_metadata", interrupted_midway)
    with pytest.raises(KeyboardInterrupt):
        writer.add(episode)
    assert calls and writer.written == 1  # the write completed before the interrupt was raised
    writer.close()
    assert minari.load_dataset("simdrive/signal-v0").total_episodes == 1


def test_control_an_undeferred_signal_cuts_the_write(tmp_path, monkeypatch):
    import gymnasium as gym

    import envs  # noqa: F401
    from simdrive import data
    from simdrive.data import DatasetWriter, run_episode

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    monkeypatch.setattr(data, "interrupts_deferred", contextlib.nullcontext)
    env = gym.make("simdrive/CartPole-v1")
    writer = DatasetWriter("simdrive/signal-v0", env, source="expert")
    episode = run_episode(env, lambda obs: 0, seed=0)
    original = writer.storage.update_episode_metadata

    def interrupted_midway(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        return original(*args, **kwargs)

    monkeypatch.setattr(writer.storage, "update_episode_metadata", interrupted_midway)
    with pytest.raises(KeyboardInterrupt):
        writer.add(episode)
    assert writer.written == 0  # cut before it was counted


class _SignalsItselfWhenCollected:
    """Sends SIGTERM to this process from its finalizer, as if the signal landed while an
    HDF5 object was being collected."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # bytecodes: the Python handler runs here, inside the finalizer
            pass


def test_an_interrupt_request_survives_a_finalizer():
    from simdrive.data import interrupt_requests

    with interrupt_requests() as interrupt:
        obj = _SignalsItselfWhenCollected()
        del obj
        assert interrupt.requested
        with pytest.raises(KeyboardInterrupt):
            interrupt.check()


def test_control_a_raising_handler_loses_the_signal_in_a_finalizer(monkeypatch):
    # what collect did before: SIGTERM raised KeyboardInterrupt wherever Python was
    def raising(signum, frame):
        raise KeyboardInterrupt

    lost = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: lost.append(unraisable.exc_type))
    previous = signal.signal(signal.SIGTERM, raising)
    try:
        obj = _SignalsItselfWhenCollected()
        del obj  # "Exception ignored in ... __del__": the interrupt goes nowhere
        for _ in range(1000):
            pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert lost == [KeyboardInterrupt]

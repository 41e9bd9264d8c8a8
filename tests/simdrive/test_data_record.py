"""Keyboard demonstrations: `simdrive drive --record` writes the finished episodes, D discards
the last one, and an episode's end waits for a key instead of restarting at once."""

from __future__ import annotations

import pytest

pytest.importorskip("minari", reason="the data extra (minari[hdf5]) is not installed")
import minari  # noqa: E402
import pygame  # noqa: E402

from simdrive import viewer  # noqa: E402
from simdrive.drive import LEGEND, drive  # noqa: E402


def test_record_discard_and_wait_between_episodes(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    shown = []
    real_show = viewer.Window.show
    monkeypatch.setattr(viewer.Window, "show", lambda self, frame: (shown.append(frame), real_show(self, frame))[1])
    # frames 0-3: episode 1 (4 steps), frame 4: its end screen -> Enter; frames 5-8: episode 2, frame 9: D discards it;
    # frames 10-13: episode 3, whose end stops the session (max_steps)
    keys = {4: [pygame.K_RETURN], 9: [pygame.K_d]}
    summary = drive("simdrive/Highway-v0", {"vehicles": 5, "max_episode_steps": 4}, fps=1000, seed=0, max_steps=12,
                    record="simdrive/human-v0", key_script=lambda frame: keys.get(frame, []))
    assert summary["recorded"] == 2 and summary["dataset"] == "simdrive/human-v0"
    dataset = minari.load_dataset("simdrive/human-v0")
    assert dataset.total_episodes == 2 and dataset.total_steps == 8
    metas = list(dataset.storage.get_episode_metadata(dataset.episode_indices))
    assert [m["source"] for m in metas] == ["human", "human"]
    assert [m["seed"] for m in metas] == [0, 2]  # episodes 1 and 3; episode 2 was discarded
    assert all(m["outcome"] == "timeout" for m in metas)
    assert set(dataset.observation_space.spaces) >= {"birdseye", "camera", "kinematics"}  # every sensor
    # the end of an episode is a held screen (the same frame shown while waiting), not an instant restart
    # each episode's end is one more screen (the outcome banner) held until a key: 12 steps + 3 end screens
    assert len(shown) == 15
    ends = [shown[4], shown[9], shown[14]]
    assert all(e.shape == shown[0].shape and not (e == shown[3]).all() for e in ends)


def test_legend_lists_the_keys():
    for key in ("space", "R", "D", "Esc"):
        assert key in LEGEND

"""Failure clips: rendered frames encoded as one small animated image (WebP, GIF where Pillow
lacks WebP), embedded in the HTML report as a data URI."""

from __future__ import annotations

import io
from typing import Sequence

import numpy as np


def clip_format() -> str:
    from PIL import features

    return "webp" if features.check("webp") else "gif"


def encode_clip(frames: Sequence[np.ndarray], fps: float) -> bytes:
    """Encode RGB frames (H, W, 3) uint8 as an animation playing at ``fps`` and looping."""
    from PIL import Image

    images = [Image.fromarray(np.ascontiguousarray(f[..., :3])) for f in frames]
    buf = io.BytesIO()
    fmt = clip_format()
    extra = {"quality": 60, "method": 4} if fmt == "webp" else {"optimize": True}
    images[0].save(buf, format=fmt.upper(), save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0, **extra)
    return buf.getvalue()


def mime(data: bytes) -> str:
    return "image/webp" if data[:4] == b"RIFF" else "image/gif"

"""Screenshot comparison: identical bytes, size change, or counted pixel differences.

Pillow + numpy (~0.2 s a shot); the pure-Python ``pixelmatch`` package takes
seconds per image. A pixel "differs" when its perceived colour distance (YIQ,
the metric pixelmatch uses) exceeds ``threshold``; the verdict compares the count
with ``budget`` pixels (zero when the environment fingerprint matches).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np


@dataclass
class Comparison:
    identical: bool
    size_changed: bool = False
    old_size: tuple[int, int] = (0, 0)
    new_size: tuple[int, int] = (0, 0)
    differing: int = 0
    bbox: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1 (exclusive), image pixels
    diff_png: bytes = b""
    where: str = ""  # what the page shows in bbox, filled in by the runner

    def ok(self, budget: int) -> bool:
        """Pass: identical, or same size with at most ``budget`` differing pixels."""
        return self.identical or (not self.size_changed and self.differing <= budget)

    def css_box(self, scale: int) -> tuple[float, float, float, float] | None:
        """The bounding box in CSS pixels (screenshots are taken at ``scale`` device px)."""
        if self.bbox is None:
            return None
        x0, y0, x1, y1 = self.bbox
        return (x0 / scale, y0 / scale, x1 / scale, y1 / scale)

    def describe(self) -> str:
        if self.identical:
            return "identical"
        if self.size_changed:
            return (f"size changed from {self.old_size[0]}x{self.old_size[1]} to "
                    f"{self.new_size[0]}x{self.new_size[1]}")
        text = f"{self.differing} pixel(s) differ in box {self.bbox}"
        return f"{text} {self.where}" if self.where else text


def _rgb(png: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as img:
        return np.asarray(img.convert("RGB"), dtype=np.float32)


def _yiq_delta(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    def yiq(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r, g, bl = x[..., 0], x[..., 1], x[..., 2]
        return (0.29889531 * r + 0.58662247 * g + 0.11448223 * bl,
                0.59597799 * r - 0.27417610 * g - 0.32180189 * bl,
                0.21147017 * r - 0.52261711 * g + 0.31114694 * bl)

    y1, i1, q1 = yiq(a)
    y2, i2, q2 = yiq(b)
    delta: np.ndarray = 0.5053 * (y1 - y2) ** 2 + 0.299 * (i1 - i2) ** 2 + 0.1957 * (q1 - q2) ** 2
    return delta


MAX_DELTA = 35215.0  # YIQ distance between black and white


def compare(old: bytes, new: bytes, *, threshold: float = 0.1) -> Comparison:
    """Compare two PNGs; ``threshold`` is 0..1 of the largest perceptual distance."""
    if old == new:
        return Comparison(identical=True)
    a, b = _rgb(old), _rgb(new)
    sizes = (a.shape[1], a.shape[0]), (b.shape[1], b.shape[0])
    size_changed = a.shape != b.shape
    if size_changed:
        # both padded to the larger size: what moved shows, and the area only one of
        # them has counts as changed
        height, width = max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1])
        only_one = np.ones((height, width), dtype=bool)
        only_one[:min(a.shape[0], b.shape[0]), :min(a.shape[1], b.shape[1])] = False
        a, b = _pad(a, height, width), _pad(b, height, width)
        mask = (_yiq_delta(a, b) > MAX_DELTA * threshold * threshold) | only_one
    else:
        mask = _yiq_delta(a, b) > MAX_DELTA * threshold * threshold
    count = int(mask.sum())
    bbox = None
    if count:
        ys, xs = np.nonzero(mask)
        bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    return Comparison(False, size_changed, *sizes, count, bbox,
                      _diff_image(b, mask) if count else b"")


def _pad(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``image`` on a white canvas of ``height`` x ``width`` (top-left aligned)."""
    out = np.full((height, width, image.shape[2]), 255, dtype=image.dtype)
    out[:image.shape[0], :image.shape[1]] = image
    return out


def _diff_image(new: np.ndarray, mask: np.ndarray) -> bytes:
    """The new shot faded to grey, differing pixels in red."""
    from PIL import Image

    grey = new.mean(axis=2, keepdims=True) * 0.3 + 178
    out = np.repeat(grey, 3, axis=2)
    out[mask] = (255, 0, 64)
    ys, xs = np.nonzero(mask)  # frame the bounding box so a one-pixel change is findable
    x0, x1 = max(int(xs.min()) - 3, 0), min(int(xs.max()) + 3, out.shape[1] - 1)
    y0, y1 = max(int(ys.min()) - 3, 0), min(int(ys.max()) + 3, out.shape[0] - 1)
    for x in (x0, x1):
        out[y0:y1 + 1, x] = (0, 102, 255)
    for y in (y0, y1):
        out[y, x0:x1 + 1] = (0, 102, 255)
    buf = io.BytesIO()
    Image.fromarray(out.clip(0, 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()

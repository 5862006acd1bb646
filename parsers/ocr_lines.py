"""The text lines of a page outside its tables, from the detector's boxes: each cut down to
the line it found (its boxes reach into the lines above and below), split where a gap wider
than the line is high shows it ran the cells of a table drawn without lines together, and
grown to the whole strokes it touches (the detector cuts the top off a small 0). Marks the
detector passed over altogether, the size of a line of text (a lone 0 in such a table), are
added. Boxes are (x0, y0, x1, y1) page pixels, x1 and y1 exclusive.
"""
from __future__ import annotations

import numpy as np

Box = tuple[int, int, int, int]
MIN_INK = 12  # dark pixels: less than this in a line is a speck, not a character


def line_boxes(dark: np.ndarray, detected: list[Box], tables: list[Box]) -> list[Box]:
    """Boxes of the text lines outside `tables`, from the detector's boxes `detected`."""
    import cv2

    if not detected:
        return []
    count, labels, stats, _ = cv2.connectedComponentsWithStats(dark.astype(np.uint8),
                                                               connectivity=8)
    found = _distinct([_grow(piece, labels, stats) for box in detected
                       for piece in _split_at_gaps(dark, _core(dark, box))])
    return found + _missed(dark, labels, count, found, tables)


def _core(dark: np.ndarray, box: Box) -> Box:
    """The band of inked rows in the box with the most ink."""
    x0, y0, x1, y1 = box
    profile = dark[y0:y1, x0:x1].sum(axis=1)
    rows = np.flatnonzero(profile)
    if not len(rows):
        return box
    breaks = np.flatnonzero(np.diff(rows) > 2)
    bands = list(zip(np.r_[rows[0], rows[breaks + 1]], np.r_[rows[breaks], rows[-1]]))
    top, bottom = max(bands, key=lambda b: profile[b[0]:b[1] + 1].sum())
    return x0, y0 + int(top), x1, y0 + int(bottom) + 1


def _split_at_gaps(dark: np.ndarray, box: Box) -> list[Box]:
    x0, y0, x1, y1 = box
    cols = np.flatnonzero(dark[y0:y1, x0:x1].any(axis=0))
    if not len(cols):
        return [box]
    gaps = np.flatnonzero(np.diff(cols) > max(4, y1 - y0))
    starts = np.r_[cols[0], cols[gaps + 1]]
    ends = np.r_[cols[gaps], cols[-1]]
    return [(x0 + int(a), y0, x0 + int(b) + 1, y1) for a, b in zip(starts, ends)]


def _grow(box: Box, labels: np.ndarray, stats: np.ndarray) -> Box:
    """The box taken out to the whole of the strokes inside it, bar ones much taller than
    the line (a rule, a seal)."""
    x0, y0, x1, y1 = box
    ids = np.unique(labels[y0:y1, x0:x1])
    ids = ids[ids > 0]
    if not len(ids):
        return box
    sx, sy, sw, sh = (stats[ids, k] for k in range(4))
    ok = sh <= 1.5 * (y1 - y0)
    if not ok.any():
        return box
    return (min(x0, int(sx[ok].min())), min(y0, int(sy[ok].min())),
            max(x1, int((sx + sw)[ok].max())), max(y1, int((sy + sh)[ok].max())))


def _distinct(boxes: list[Box]) -> list[Box]:
    """Without boxes lying mostly inside a larger one (the detector found a piece twice)."""
    def area(b: Box) -> int:
        return max(0, b[2] - b[0]) * max(0, b[3] - b[1])

    out = []
    for b in sorted(boxes, key=area, reverse=True):
        inside = any(area((max(b[0], o[0]), max(b[1], o[1]), min(b[2], o[2]), min(b[3], o[3])))
                     >= 0.8 * area(b) for o in out)
        if not inside:
            out.append(b)
    return out


def _missed(dark: np.ndarray, labels: np.ndarray, count: int, found: list[Box],
            tables: list[Box]) -> list[Box]:
    """Groups of strokes no found line or table touches, about a line of text high."""
    import cv2

    size = float(np.median([b[3] - b[1] for b in found]))
    taken = np.zeros(count, bool)
    taken[0] = True
    for x0, y0, x1, y1 in found + [(x0, y0, x1 + 1, y1 + 1) for x0, y0, x1, y1 in tables]:
        taken[np.unique(labels[y0:y1, x0:x1])] = True
    ink = ~taken[labels]
    if ink.sum() < MIN_INK:
        return []
    # the characters of one number or word are closer than half a line's height
    kernel = np.ones((1, max(3, int(size / 2))), np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(ink.astype(np.uint8), kernel),
                                                      connectivity=8)
    out = []
    for x, y, w, h, _ in stats[1:].tolist():
        if 0.4 * size <= h <= 1.6 * size and ink[y:y + h, x:x + w].sum() >= MIN_INK:
            out.append((x, y, x + w, y + h))
    return out

"""A scanned page turned straight before it is read: a sheet fed a little askew gives table
rules that climb across the page, and a rule 1000 px long that climbs 15 px is no longer a
row edge. The skew is measured on the page's long horizontal lines (the tables' rules, the
only marks known to be straight) and the page is turned back by it. A page without such
lines is left as it is: the text detector copes with a slight slant on its own.
"""
from __future__ import annotations

import math

import numpy as np

from .ocr_grid import long_runs

MIN_RULE = 300  # px: lines at least this long are measured
MIN_SKEW = 0.1  # degrees: less than this is left alone
MAX_SKEW = 3.0  # degrees: more than this is no skew of a table's rules


def skew_angle(dark: np.ndarray) -> float:
    """The page's skew in degrees, positive where its lines fall to the right (turning the
    page back by it, anticlockwise, straightens them), from its long horizontal lines; 0.0
    when it has none."""
    import cv2

    # runs of 25 px survive a slant of 2 degrees on a line 1 px thick
    runs = long_runs(dark, 25).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(runs, connectivity=8)
    angles = []
    for i in range(1, count):
        x, y, w, h, _ = stats[i]
        if w < MIN_RULE or h > 0.06 * w:
            continue
        ys, xs = np.nonzero(labels[y:y + h, x:x + w] == i)
        slope = np.polyfit(xs, ys, 1)[0]
        angles.append(math.degrees(math.atan(slope)))
    if not angles:
        return 0.0
    angle = float(np.median(angles))
    return angle if abs(angle) <= MAX_SKEW else 0.0


def straighten(gray: np.ndarray, dark: np.ndarray) -> np.ndarray | None:
    """The page turned straight, or None when it is straight enough already."""
    import cv2

    angle = skew_angle(dark)
    if abs(angle) < MIN_SKEW:
        return None
    h, w = gray.shape
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(gray, turn, (w, h), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=255)

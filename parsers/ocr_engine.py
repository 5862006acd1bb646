"""The OCR model: rapidocr-onnxruntime's PP-OCRv4 text detector and recogniser, shipped
inside the wheel (nothing is downloaded), loaded once per process on first use.

Two calls: `detect` finds text line boxes on a page image, `recognise` reads the text of
line images. Images are 2-D uint8 greyscale arrays; boxes are (x0, y0, x1, y1) pixels.
Scanned report pages are upright, so the angle classifier is not run.
"""
from __future__ import annotations

import logging
import threading

import numpy as np

# Detection runs on the page at half size (text lines stay well above the detector's
# minimum, and it is four times faster); recognition reads the full-size pixels.
DETECT_SCALE = 0.5
# The recogniser pads each line image to a width of at least REC_WIDTH px. Its default, 320,
# makes a lone digit in a table cell cost as much as a line of text; at 96 it is read as
# right, a little less surely: a line read with less confidence than RETRY is read again
# at 320 and the surer reading kept.
REC_WIDTH, REC_FULL_WIDTH = 96, 320
RETRY = 0.9
_lock = threading.RLock()  # one engine, its settings changed per call
_engine = None


def engine():
    """The RapidOCR engine (its models load in about half a second)."""
    global _engine
    with _lock:
        if _engine is None:
            logging.getLogger("RapidOCR").setLevel(logging.ERROR)
            from rapidocr_onnxruntime import RapidOCR

            _engine = RapidOCR()
        return _engine


def available() -> bool:
    try:
        import rapidocr_onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _bgr(gray: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))


def detect(gray: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Text line boxes on a page, in the page's pixels."""
    import cv2

    if min(gray.shape) * DETECT_SCALE < 8:
        return []
    small = cv2.resize(gray, None, fx=DETECT_SCALE, fy=DETECT_SCALE, interpolation=cv2.INTER_AREA)
    with _lock:
        boxes, _ = engine().text_det(_bgr(small))
    out = []
    for quad in [] if boxes is None else boxes:
        xs, ys = quad[:, 0] / DETECT_SCALE, quad[:, 1] / DETECT_SCALE
        out.append((int(xs.min()), int(ys.min()), int(np.ceil(xs.max())), int(np.ceil(ys.max()))))
    return out


def recognise(lines: list[np.ndarray]) -> list[tuple[str, float]]:
    """The text and confidence of each line image."""
    if not lines:
        return []
    images = [_bgr(line) for line in lines]
    with _lock:
        rec = engine().text_rec
        results = _read(rec, images, REC_WIDTH)
        unsure = [i for i, (_, score) in enumerate(results) if score < RETRY]
        if unsure:
            for i, again in zip(unsure, _read(rec, [images[i] for i in unsure], REC_FULL_WIDTH)):
                if again[1] > results[i][1]:
                    results[i] = again
    return results


def _read(rec, images: list[np.ndarray], width: int) -> list[tuple[str, float]]:
    rec.rec_image_shape = [3, 48, width]
    results, _ = rec(images)
    return [(text, float(score)) for text, score, *_ in results]

"""Line plots drawn with OpenCV: one panel per curve, stacked, as an RGB image.

For per-frame curves of a rollout; no plotting library needed. Each panel has
its own y range (printed in its title), x runs over the curve's points.
"""

import cv2
import numpy as np

_BACKGROUND = (255, 255, 255)
_AXES = (90, 90, 90)
_TEXT = (20, 20, 20)
_LINE = (31, 119, 180)  # RGB
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_MARGIN = dict(left=12, right=12, top=26, bottom=18)


def line_panels(curves, width=480, panel_height=160, x_start=1):
    """Draws each curve in its own panel.

    Args:
        curves: dict name -> sequence of floats (None or NaN leave a gap).
        width, panel_height: pixel size of one panel.
        x_start: the x value of each curve's first point (for the axis labels).
    Returns:
        uint8 RGB (len(curves) * panel_height, width, 3).
    """
    panels = [_panel(name, values, width, panel_height, x_start) for name, values in curves.items()]
    return np.concatenate(panels, axis=0)


def _panel(name, values, width, height, x_start):
    image = np.full((height, width, 3), _BACKGROUND, np.uint8)
    values = np.array([np.nan if v is None else v for v in values], np.float64)
    left, right = _MARGIN["left"], width - _MARGIN["right"]
    top, bottom = _MARGIN["top"], height - _MARGIN["bottom"]
    cv2.rectangle(image, (left, top), (right, bottom), _AXES, 1)
    finite = values[np.isfinite(values)]
    low, high = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    title = f"{name}  [{low:.4g} .. {high:.4g}]" if finite.size else f"{name}  (no values)"
    cv2.putText(image, title, (left, top - 8), _FONT, 0.45, _TEXT, 1, cv2.LINE_AA)
    last = x_start + max(len(values) - 1, 0)
    cv2.putText(image, str(x_start), (left, height - 4), _FONT, 0.4, _TEXT, 1, cv2.LINE_AA)
    (text_width, _), _ = cv2.getTextSize(str(last), _FONT, 0.4, 1)
    cv2.putText(image, str(last), (right - text_width, height - 4), _FONT, 0.4, _TEXT, 1, cv2.LINE_AA)
    span = high - low if high > low else 1.0
    xs = left + 1 + (right - left - 2) * np.arange(len(values)) / max(len(values) - 1, 1)
    ys = bottom - 1 - (bottom - top - 2) * ((values - low) / span if high > low else 0.5)
    for segment in _finite_runs(values):
        points = np.stack([xs[segment], ys[segment]], axis=-1).round().astype(np.int32)
        if len(points) == 1:
            cv2.circle(image, tuple(int(v) for v in points[0]), 2, _LINE, -1, cv2.LINE_AA)
        else:
            cv2.polylines(image, [points], False, _LINE, 1, cv2.LINE_AA)
    return image


def _finite_runs(values):
    """Index arrays of the maximal runs of finite values."""
    finite = np.isfinite(values)
    runs, start = [], None
    for i, ok in enumerate(np.append(finite, False)):
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            runs.append(np.arange(start, i))
            start = None
    return runs

"""Dense optical flow as images: the paper's second stream ("flow percepts").

Flow between consecutive frames, computed with OpenCV, is rendered as a
3-channel uint8 image that an ImageNet convnet can read (`pipelines.percept_networks`),
as two-stream practice does (Gkioxari and Malik 2015; Simonyan and Zisserman
2014 stack x and y; the third channel is the magnitude):

    channel 0   x displacement (positive: motion to the right)
    channel 1   y displacement (positive: motion down)
    channel 2   magnitude sqrt(x^2 + y^2)

each as 128 + value * 128 / bound, rounded and clipped to [0, 255]: zero
motion is 128, a displacement of +bound pixels or more is 255, -bound or less
is 0 (the magnitude, never negative, uses [128, 255]).

Methods (`METHODS`):

    farneback   cv2.calcOpticalFlowFarneback, in every OpenCV build
    tvl1        TV-L1 (cv2.optflow.DualTVL1OpticalFlow_create), only in OpenCV
                builds with the contrib modules (opencv-contrib-python[-headless]);
                this project installs opencv-python-headless, which lacks it:
                `tvl1_available()` says whether this one has it, and asking for
                it without raises a ValueError saying what to install

`flow_frames(frames)` streams: it takes any iterator of RGB frames and yields
one flow image per consecutive pair (T frames -> T - 1 images), holding only
the previous frame.
"""

import cv2
import numpy as np

METHODS = ("farneback", "tvl1")
DEFAULT_BOUND = 20.0  # pixels of displacement that reach 0 / 255

# OpenCV's documented example parameters (pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags).
_FARNEBACK = (0.5, 3, 15, 3, 5, 1.2, 0)


def tvl1_available():
    """Whether this OpenCV has TV-L1 optical flow (the contrib module cv2.optflow)."""
    return hasattr(getattr(cv2, "optflow", None), "DualTVL1OpticalFlow_create")


def check_method(method):
    """Raises ValueError for an unknown method, or tvl1 in an OpenCV without it."""
    if method not in METHODS:
        raise ValueError(f"flow method {method!r}; expected one of {list(METHODS)}")
    if method == "tvl1" and not tvl1_available():
        raise ValueError(
            f"flow method tvl1 needs OpenCV's contrib module cv2.optflow, which this OpenCV "
            f"({cv2.__version__}, {_package()}) lacks: install opencv-contrib-python-headless "
            "instead of opencv-python-headless, or use farneback"
        )


def _package():
    return "with contrib" if hasattr(cv2, "optflow") else "no contrib modules, e.g. opencv-python-headless"


class FlowComputer:
    """Flow (H, W, 2) float32 between two grey uint8 frames, with one method.

    A TV-L1 object is made once and reused (its construction is not free).
    """

    def __init__(self, method="farneback"):
        check_method(method)
        self.method = method
        self._tvl1 = cv2.optflow.DualTVL1OpticalFlow_create() if method == "tvl1" else None

    def __call__(self, previous, current):
        if self._tvl1 is not None:
            return self._tvl1.calc(previous, current, None)
        return cv2.calcOpticalFlowFarneback(previous, current, None, *_FARNEBACK)


def render(flow, bound=DEFAULT_BOUND):
    """float (H, W, 2) displacements -> uint8 (H, W, 3): x, y and magnitude around 128.

    Args:
        flow: (H, W, 2) x and y displacement in pixels.
        bound: the displacement (pixels) that maps to 0 or 255; larger ones clip.
    """
    if bound <= 0:
        raise ValueError(f"bound={bound}; expected > 0")
    flow = np.asarray(flow, np.float32)
    magnitude = np.sqrt(flow[..., 0] ** 2 + flow[..., 1] ** 2)
    channels = np.stack([flow[..., 0], flow[..., 1], magnitude], axis=-1)
    return np.clip(np.rint(128.0 + channels * (128.0 / bound)), 0, 255).astype(np.uint8)


def _grey(frame):
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[-1] != 3:
        raise ValueError(f"frame {frame.dtype} {frame.shape}; expected uint8 RGB (H, W, 3)")
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def flow_image(previous, current, method="farneback", bound=DEFAULT_BOUND):
    """The flow image (H, W, 3) uint8 from RGB frame `previous` to RGB frame `current`."""
    return render(FlowComputer(method)(_grey(previous), _grey(current)), bound)


def flow_frames(frames, method="farneback", bound=DEFAULT_BOUND):
    """Yields the flow images of consecutive RGB frames: T frames -> T - 1 images.

    Streams: only the previous frame (in grey) is held.

    Args:
        frames: an iterable of uint8 RGB (H, W, 3) frames of one size (e.g.
            `video.read_frames(path, stride)`: flow between kept frames).
        method: "farneback" or "tvl1" (see `check_method`).
        bound: of `render`.

    Yields:
        uint8 (H, W, 3): image k is the flow from frame k to frame k + 1.
    """
    compute = FlowComputer(method)
    previous = None
    for frame in frames:
        grey = _grey(frame)
        if previous is not None:
            if grey.shape != previous.shape:
                raise ValueError(f"frame of size {grey.shape} after frames of size {previous.shape}")
            yield render(compute(previous, grey), bound)
        previous = grey

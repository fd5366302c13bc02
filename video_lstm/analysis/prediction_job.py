"""`python -m video_lstm.predict`'s one call: the checks that need no model, then the prediction.

What can be checked without TensorFlow or Keras (the flags, the model's folder, the video exists
and OpenCV decodes its first frame) is checked first, in about a second; `analysis.prediction`
(which loads Keras) is imported only after, so a bad input ends before TensorFlow loads
(tests/test_quiet_cli.py). The messages are those of the full checks (`prediction.check`).
"""

import os

from pipelines import user_video, video_decode


def check_inputs(source, options):
    """The checks before the model: `options` (`analysis.options.PredictOptions`) in range, `source`
    (`core.settings.ModelSource`) a training run or a SavedModel, the video readable.

    Raises:
        FileNotFoundError, ValueError: naming the flag.
    """
    options.validate()
    source.check()
    video = options.video
    if not os.path.exists(video):
        raise FileNotFoundError(f"--video={video}: no such file or folder")
    if user_video.kind(video) != "file":
        return  # a .npy or a folder of images: read (and checked) by pipelines.user_video
    try:
        video_decode.probe(video)
    except video_decode.VideoError as error:
        raise ValueError(f"--video={error}") from None


def run(source, options):
    """Checks, predicts, writes; returns the lines to print (what it predicted, the files written)."""
    check_inputs(source, options)
    from video_lstm.analysis import prediction  # function-local: Keras loads only once the quick checks pass

    record, written = prediction.run(source, options)
    shapes = ", ".join(f"{name} {tuple(shape)}" for name, shape in record["shapes"].items())
    return [f"predicted {record['future']} frames from {record['context']} of {options.video} ({shapes})",
            *(f"wrote {path}" for path in written)]

"""Pictures of a trained model: samples, long rollouts, out-of-domain digit counts, weights.

`visualize_log_dir(log_dir, Options(...))` loads the newest checkpoint and
writes into `<log_dir>/visualize/` (file stems in brackets):

- samples: test sequences (the run's fixed test set, first N): a grid of
  input | reconstruction | prediction | ground truth rows per sequence
  [samples], and a GIF per sequence [samples_<i>], each frame the truth (left:
  input, then the future) beside the model (right: reconstruction, then
  prediction), under a band naming the frame ("in 2", "out 5").
- rollout: the future decoder run free for `horizon` frames (see
  `rollout.py`) on fresh sequences of the trained number of digits, made from
  the *test* digits with a fixed seed: a GIF whose frames hold the truth (top
  row) over the prediction (bottom row) for every sequence, under a band
  naming the predicted frame ("+37") [rollout]; a strip of at most 20 frames,
  evenly spaced, truth over prediction per sequence [rollout]; the per-frame
  curves [rollout_curves]; and the metrics [rollout_metrics.json]: one row per
  predicted frame with `frame` (1 = first predicted), `intensity_ratio`,
  `centre_error_px` and `mse`, rewritten after every chunk so a long rollout
  shows its progress (`frames_done`).
- ood: the same for sequences of other digit counts (1 and 3 by default)
  [rollout_1digit, rollout_3digits, ...].
- weights: the encoder's first-layer input weights, one picture per gate
  [encoder_{input,forget,cell,output}_gate_weights]: tile k is the k-th unit by
  the L2 norm of its input weights over all four gates (the same unit at the
  same place in every gate's picture), its kernel column reshaped to a frame;
  and each decoder's read-out rows reshaped to frames, by L2 norm
  [<decoder>_output_weights]. Each tile is scaled to [0, 1] on its own.

Every PNG also goes to TensorBoard as an image summary (tag = file stem, step =
the checkpoint's step) in `<log_dir>/visualize/tensorboard`, apart from the
training curves in `<log_dir>/train`; the GIFs' content is there as the
samples grid and the rollout strips. GIFs are at most MAX_GIF_FRAMES frames
(every k-th frame of longer rollouts).
"""

import dataclasses
import math
import os

import keras
import numpy as np
import tensorflow as tf

from pipelines import sources
from video_lstm import rundir
from video_lstm.analysis import figures, plots, rollout
from video_lstm.analysis.options import WHATS, VisualizeOptions
from video_lstm.core import atomic

OUTPUT_DIR = rundir.VISUALIZE
MAX_GIF_FRAMES = 200
MAX_STRIP_FRAMES = 20
ROLLOUT_SEED = 2468
GATES = ("input", "forget", "cell", "output")  # the order of LSTMStack's kernel columns
GAP = 2  # pixels between frames, as in figures.py
RULE = 4  # white pixels between sequences, as in figures.write_samples
LABEL_HEIGHT = figures.LABEL_HEIGHT  # the band above each GIF frame naming it


def visualize_log_dir(log_dir, options=None):
    """Draws the newest checkpoint of a training run; returns the paths written."""
    options = options or VisualizeOptions()
    config = rundir.load_config(log_dir)
    rundir.check_writable(log_dir)
    step, model = rundir.load_latest(log_dir, config, compile=False)
    return visualize(model, config, os.path.join(log_dir, OUTPUT_DIR), options, step)


def visualize(model, config, out_dir, options=None, step=0):
    """Draws `options.what` for `model` (trained as `config`) into out_dir."""
    options = options or VisualizeOptions()
    what = options.what or applicable(model, config)
    check_model(model, config, what)
    writer = Writer(out_dir, step)
    try:
        for name in what:
            if name == "samples":
                draw_samples(model, config, writer, options)
            elif name == "rollout":
                draw_rollout(model, config, writer, options, config.data.num_digits, "rollout")
            elif name == "ood":
                for count in options.ood_digits:
                    suffix = "digit" if count == 1 else "digits"
                    draw_rollout(model, config, writer, options, count, f"rollout_{count}{suffix}")
            else:
                draw_weights(model, writer, options)
    finally:
        writer.close()
    return writer.written


def applicable(model, config):
    """Every entry of WHATS the model can be drawn with: rollouts need a future
    decoder and Moving MNIST (whose digits they follow)."""
    rollouts = model.future_decoder is not None and config.dataset == "moving_mnist"
    return tuple(w for w in WHATS if rollouts or w not in ("rollout", "ood"))


def check_model(model, config, what):
    """Raises ValueError if the model cannot be drawn as `what` asks."""
    shape = tuple(model.frame_shape)
    if len(shape) != 3 or shape[-1] not in (1, 3):
        raise ValueError(
            f"--what={','.join(what)} draws pixel pictures, but the model reads frames of shape "
            f"{shape} (feature vectors such as percepts); expected (height, width, 1 or 3) images"
        )
    if shape != tuple(config.input_spec.frame_shape):
        raise ValueError(
            f"the checkpoint's model reads {shape[0]}x{shape[1]} frames but config.json says "
            f"{config.input_spec.origin}"
        )
    if config.dataset != "moving_mnist" and {"rollout", "ood"} & set(what):
        raise ValueError(
            f"--what=rollout and --what=ood follow Moving MNIST digits; this run read "
            f"--dataset={config.dataset} (expected --what=samples,weights)"
        )
    if model.future_decoder is None and {"rollout", "ood"} & set(what):
        raise ValueError(
            "--what=rollout and --what=ood need a future decoder; this model is an autoencoder "
            "(expected --what=samples,weights)"
        )


class Writer:
    """PNG, GIF and JSON files in `out_dir`; every PNG also as a TensorBoard image."""

    def __init__(self, out_dir, step):
        self.out_dir = out_dir
        self.step = step
        self.written = []
        os.makedirs(out_dir, exist_ok=True)
        self.summaries = tf.summary.create_file_writer(os.path.join(out_dir, "tensorboard"))

    def _path(self, name, extension):
        path = os.path.join(self.out_dir, f"{name}.{extension}")
        if path not in self.written:
            self.written.append(path)
        return path

    def png(self, name, image):
        """uint8 (H, W) or (H, W, 1|3)."""
        image = image if image.ndim == 3 else image[..., None]
        figures.write_png(self._path(name, "png"), image)
        with self.summaries.as_default(step=self.step):
            tf.summary.image(name, image[None])

    def gif(self, name, frames):
        """uint8 (time, H, W, 1|3) frames."""
        figures.write_gif(self._path(name, "gif"), frames)

    def json(self, name, value):
        atomic.write_json(self._path(name, "json"), value)

    def close(self):
        self.summaries.flush()
        self.summaries.close()


# -- pictures -----------------------------------------------------------------


def stack_sequences(pictures):
    """Pictures of equal width, one per sequence, with white rules between them."""
    rule = np.full((RULE,) + pictures[0].shape[1:], 255, np.uint8)
    return np.concatenate([p for picture in pictures for p in (picture, rule)][:-1], axis=0)


def tile_grid(vectors, frame_shape, gap=GAP):
    """Weight vectors as frame-shaped tiles, each scaled to [0, 1], in a square-ish grid.

    Args:
        vectors: float (n, prod(frame_shape)).
        frame_shape: (H, W, C).
    Returns:
        uint8 (rows * (H + gap), columns * (W + gap), C), columns =
        ceil(sqrt(n)), rows = ceil(n / columns); tiles row by row.
    """
    tiles = np.asarray(vectors, np.float64).reshape((-1,) + tuple(frame_shape))
    low = tiles.min(axis=(1, 2, 3), keepdims=True)
    high = tiles.max(axis=(1, 2, 3), keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        tiles = np.where(high > low, (tiles - low) / (high - low), 0.5)
    tiles = figures.to_uint8(tiles)
    count, height, width, channels = tiles.shape
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.full((rows * (height + gap), columns * (width + gap), channels), 40, np.uint8)
    for k, tile in enumerate(tiles):
        top, left = (k // columns) * (height + gap), (k % columns) * (width + gap)
        grid[top : top + height, left : left + width] = tile
    return grid


def draw_samples(model, config, writer, options):
    """The samples grid and one GIF per sequence (see the module docstring)."""
    count = options.num_sequences
    source = sources.build(dataclasses.replace(config, eval_sequences=count))
    inputs = source.split(source.test_set().clips[:count])
    outputs = {k: figures.numpy(v) for k, v in model.generate(inputs["frames"]).items()}
    frames, truth = inputs["frames"], inputs.get("future_frames")
    reconstruction, future = outputs.get("reconstruction"), outputs.get("future")
    pick = lambda array, i: None if array is None else array[i]  # noqa: E731
    rows = [
        (frames[i], pick(reconstruction, i), pick(future, i), pick(truth, i)) for i in range(len(frames))
    ]
    writer.png("samples", stack_sequences([figures.sequence_strip(list(r)) for r in rows]))
    for i, r in enumerate(rows):
        writer.gif(f"samples_{i}", sample_gif_frames(*r))


def sample_gif_frames(frames, reconstruction, future, truth):
    """`figures.sample_gif_frames`; the prediction only beside a true future (test sequences have one)."""
    return figures.sample_gif_frames(frames, reconstruction, future if truth is not None else None, truth, GAP)


def rollout_frames(horizon):
    """(gif_every, strip_frames): the predicted frames kept for the GIF and the strip."""
    gif_every = math.ceil(horizon / MAX_GIF_FRAMES)
    strip = np.unique(np.linspace(0, horizon - 1, min(horizon, MAX_STRIP_FRAMES)).round().astype(int))
    return gif_every, [int(t) for t in strip]


def draw_rollout(model, config, writer, options, num_digits, name):
    """GIF, strip, curves and metrics of a `horizon`-frame rollout with `num_digits` digits."""
    horizon, length = options.horizon, config.input_length
    digits = sources.build(config).digit_bank("test").images
    truth_source = rollout.tracked_sequences(
        digits,
        options.num_sequences,
        length + horizon,
        num_digits,
        seed=(ROLLOUT_SEED, num_digits),
        frame_size=config.data.frame_size,
        step_length=config.data.step_length,
    )
    gif_every, strip_frames = rollout_frames(horizon)
    report = dict(
        horizon=horizon,
        num_digits=num_digits,
        trained_num_digits=config.data.num_digits,
        num_sequences=options.num_sequences,
        step=writer.step,
        chunk_size=options.chunk_size,
        strip_frames=[t + 1 for t in strip_frames],
        gif_every=gif_every,
        frames_done=0,
        rows=[],
    )
    gif, strip = [], []
    chunks = rollout.rollout_chunks(model, truth_source.frames(0, length), horizon, options.chunk_size)
    for start, predicted in chunks:
        stop = start + predicted.shape[1]
        truth = truth_source.frames(length + start, length + stop)
        centres = truth_source.centres(length + start, length + stop)
        report["rows"] += rollout.persistence_rows(truth, predicted, centres, first_frame=start + 1)
        report["frames_done"] = stop
        writer.json(f"{name}_metrics", report)
        for t in range(start, stop):
            pair = (figures.to_uint8(truth[:, t - start]), figures.to_uint8(predicted[:, t - start]))
            if t % gif_every == 0:
                gif.append(figures.labelled(figures.sequence_strip(list(pair)), f"+{t + 1}"))
            if t in strip_frames:
                strip.append(pair)
    writer.gif(name, np.stack(gif))
    truth_strip, predicted_strip = (np.stack([s[k] for s in strip], axis=1) for k in (0, 1))
    writer.png(
        name,
        stack_sequences(
            [figures.sequence_strip([truth_strip[i], predicted_strip[i]]) for i in range(len(truth_strip))]
        ),
    )
    curves = {key: [row[key] for row in report["rows"]] for key in rollout.METRIC_KEYS[1:]}
    writer.png(f"{name}_curves", plots.line_panels(curves))


def draw_weights(model, writer, options):
    """The encoder's input-to-gate weights and the decoders' read-out weights, as frames.

    A conv read-out has no weight per pixel; its pictures are what each unit
    draws alone (`unit_drawings`). An encoder with a conv reader has no
    pixel weights to show and is skipped.
    """
    frame_shape = tuple(model.frame_shape)
    if model.encoder.conv_reader is None:
        kernel = figures.numpy(model.encoder.lstm.kernels[0])  # (frame_dim, 4 * units), gates i, f, g, o
        units = kernel.shape[1] // 4
        columns = kernel.T.reshape(len(GATES), units, -1)  # (gate, unit, frame_dim)
        order = np.argsort(-np.sqrt(np.square(columns).sum(axis=(0, 2))), kind="stable")[: options.num_units]
        for g, gate in enumerate(GATES):
            writer.png(f"encoder_{gate}_gate_weights", tile_grid(columns[g, order], frame_shape))
    for decoder in model.decoders:
        rows = figures.numpy(decoder.output_kernel) if decoder.readout_kind == "linear" else unit_drawings(decoder)
        order = np.argsort(-np.linalg.norm(rows, axis=1), kind="stable")[: options.num_units]
        writer.png(f"{decoder.name}_output_weights", tile_grid(rows[order], frame_shape))


def unit_drawings(decoder, scale=3.0):
    """float (units, frame_dim): the logits a decoder's read-out draws for
    hidden state `scale * e_u`, minus those for a zero state. For a linear
    read-out this is `scale` times the weight row of unit u."""
    hidden = np.concatenate([np.zeros((1, decoder.units)), scale * np.eye(decoder.units)]).astype("float32")
    logits = figures.numpy(decoder.readout(keras.ops.cast(hidden, decoder.compute_dtype)))
    return logits[1:] - logits[:1]

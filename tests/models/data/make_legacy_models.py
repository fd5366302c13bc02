"""Writes the `.keras` files that tests/models/test_legacy_models.py loads.

Run once with the code of the commit before the subpackage move (edd287c):

    git worktree add /tmp/old edd287c
    cd /tmp/old && python /path/to/tests/models/data/make_legacy_models.py /path/to/tests/models/data

Each model is tiny, trained for one step (so the file carries optimizer state
as a checkpoint does), saved, and its free-running outputs on fixed frames are
stored beside it in `legacy_outputs.npz`.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from video_lstm.models import build_model  # noqa: E402

MODELS = {
    # The paper's architecture: linear reader and read-out, teacher forcing.
    "legacy_composite": dict(kind="composite", units=6, future_length=3, init_scale=0.1, seed=1),
    # Conv reader and read-out, and a scheduled-sampling decoder (which kept
    # its own step counter as a variable before the move).
    "legacy_conv_scheduled": dict(
        kind="composite", units=6, future_length=3, feed="scheduled", readout="conv",
        readout_filters=4, reader="conv", reader_filters=4, seed=2,
    ),
}


def frames(seed):
    return np.random.default_rng(seed).uniform(size=(2, 4, 16, 16, 1)).astype("float32")


def main(out_dir):
    outputs = {}
    for name, kwargs in MODELS.items():
        model = build_model(**kwargs)
        inputs = {"frames": frames(0), "future_frames": frames(1)[:, :3]}
        model(inputs)
        model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)
        model.train_on_batch(inputs)
        model.save(os.path.join(out_dir, f"{name}.keras"))
        generated = model.generate(frames(2), future_length=5)
        for key, value in generated.items():
            outputs[f"{name}/{key}"] = keras.ops.convert_to_numpy(value)
    outputs["frames"] = frames(2)
    np.savez(os.path.join(out_dir, "legacy_outputs.npz"), **outputs)


if __name__ == "__main__":
    main(sys.argv[1])

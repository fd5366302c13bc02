r"""Downstream use of an exported encoder: a Keras video classifier on top of it.

    python examples/classifier_on_exported_encoder.py exported/quickstart/1 [--steps=30]

The SavedModel's `encode` endpoint becomes a frozen Keras layer
(`keras.layers.TFSMLayer`); a Dense head reads the top LSTM layer's final `h`
and is trained for a few steps on random clips with random labels, a stand-in
for labelled videos (the paper fine-tunes on UCF-101 and HMDB-51). Neither
video_lstm nor its checkpoint is needed, only the exported directory; the
script prints the loss per step, which falls as the head fits the batch.
"""

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402


def read_schema(saved_model_dir):
    """assets/signatures.json of an exported version."""
    with open(os.path.join(saved_model_dir, "assets", "signatures.json")) as f:
        return json.load(f)


def top_state_name(schema):
    """`h_<last layer>`, the representation the classifier reads."""
    layers = [name for name in schema["signatures"]["encode"]["outputs"] if name.startswith("h_")]
    return max(layers, key=lambda name: int(name.split("_")[1]))


def build_classifier(saved_model_dir, num_classes, time_steps=None):
    """Frames (batch, time, H, W, C) uint8 -> class logits, over the frozen encoder."""
    schema = read_schema(saved_model_dir)
    encoder = keras.layers.TFSMLayer(saved_model_dir, call_endpoint="encode", trainable=False,
                                     name="exported_encoder")
    frames = keras.Input(shape=(time_steps, *schema["frame_shape"]), dtype="uint8", name="frames")
    representation = encoder(frames)
    logits = keras.layers.Dense(num_classes, name="head")(representation[top_state_name(schema)])
    return keras.Model(frames, logits, name="video_classifier")


def train_on_random_labels(model, num_classes, steps=30, batch=8, time_steps=10, seed=0,
                           learning_rate=0.05):
    """Fits the head to one fixed random batch; returns the loss of each step."""
    rng = np.random.RandomState(seed)
    shape = (batch, time_steps) + tuple(model.input_shape[2:])
    frames = rng.randint(0, 256, shape).astype(np.uint8)
    labels = rng.randint(0, num_classes, (batch,))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=False,  # XLA has no kernel for the exported graph's antialiased resize
    )
    history = model.fit(frames, labels, batch_size=batch, epochs=steps, verbose=0, shuffle=False)
    return history.history["loss"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("saved_model_dir", help="an exported version, e.g. exported/quickstart/1")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--time", type=int, default=10, help="frames per clip")
    args = parser.parse_args()
    model = build_classifier(args.saved_model_dir, args.classes)
    model.summary()
    losses = train_on_random_labels(model, args.classes, args.steps, time_steps=args.time)
    for step, loss in enumerate(losses, 1):
        print(f"step {step:3d}  loss {loss:.4f}")


if __name__ == "__main__":
    main()

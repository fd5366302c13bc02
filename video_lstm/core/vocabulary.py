"""The vocabulary of the command lines: one flag name per concept, one meaning per name.

`TERMS` is the table, as data: each concept's one flag name, the old names some commands gave it
(kept for a release as deprecated aliases, `cli.define_deprecated_alias`), and what it means.
tests/test_vocabulary.py defines every command's flags and checks them against it (no command
defines an old name but as an alias of the new one; the few-shot read-out's sizes have one
default wherever they are defined); docs/gen_commands.py renders it into docs/commands.md.
Imports nothing of the project.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Term:
    """One concept of the command lines.

    Attributes:
        concept: what it is, in words.
        name: its one flag name.
        meaning: what the flag means, wherever it is defined.
        old: ((old name, (commands that had it, ...)), ...): names it had before, each now a
            deprecated alias of `name` in those commands.
        one_default: whether every command that defines `name` gives it the same default.
    """

    concept: str
    name: str
    meaning: str
    old: tuple = ()
    one_default: bool = False


TERMS = (
    Term("percept network", "percept_network",
         "The convnet that turns video frames into percepts (one feature vector a frame).",
         (("network", ("pipelines.extract_percepts",)),)),
    Term("percept weights", "percept_weights",
         "The percept network's weights: imagenet, random, or a weights file.",
         (("weights", ("pipelines.extract_percepts",)), ("convnet_weights", ("export.encoder",)))),
    Term("percept precision", "percept_precision",
         "The precision the percept network computes in (float32 or bfloat16).",
         (("compute_dtype", ("pipelines.extract_percepts",)),)),
    Term("percept engine", "percept_engine",
         "What runs the percept network: tensorflow, onnxruntime or openvino.", ()),
    Term("frames read", "input_length",
         "Frames of a clip the encoder reads.",
         (("context", ("video_lstm.predict",)), ("clip_length", ("video_lstm.embed",)),
          ("time", ("export.client",)))),
    Term("frames predicted", "future_length",
         "Frames the future decoder predicts after the frames read.",
         (("future", ("video_lstm.predict",)), ("future_steps", ("export.client",)))),
    Term("pretraining flagfile", "pretrain_flagfile",
         "The flagfile of the unsupervised pretraining an experiment runs first.",
         (("base_flagfile", ("video_lstm.experiments.pretrain_ablation",)),)),
    Term("model read from elsewhere", "pretrained",
         "A trained model a command reads and does not write: a training run's log_dir or an exported "
         "SavedModel, told apart on disk (core.settings.ModelSource).",
         (("log_dir", ("video_lstm.predict",)), ("saved_model", ("video_lstm.predict",)))),
    Term("run worked on", "log_dir",
         "The run a command works on or writes into: a training run, a classifier, an experiment's folder."),
    Term("output folder", "out",
         "The folder a job (percept extraction, embedding, prediction) writes its outputs into."),
    Term("few-shot shots", "shots",
         "Labelled examples per class of the few-shot read-out (a list; `all` for every one).",
         one_default=True),
    Term("few-shot seeds", "seeds",
         "Draws of the labelled examples of the few-shot read-out, each with its own seed.",
         one_default=True),
    Term("few-shot pool size", "pool_size",
         "Labelled sequences the few-shot read-out draws its shots from.",
         one_default=True),
    Term("few-shot test size", "test_size",
         "Sequences the few-shot read-out is scored on.",
         one_default=True),
    Term("batch", "batch_size",
         "Examples (sequences or clips: the command's help says which) per step or request.",
         (("batch", ("export.client",)),)),
    Term("clips per encoder call", "batch_clips",
         "A corpus job's clips per call of the encoder (memory, not learning: no step is taken)."),
    Term("frames per convnet call", "batch_frames",
         "A corpus job's frames per call of the percept network (memory, not learning)."),
)


def by_name():
    """{flag name: its Term}."""
    return {term.name: term for term in TERMS}


def old_names():
    """{old name: (its Term, the commands that had it)}."""
    return {old: (term, commands) for term in TERMS for old, commands in term.old}

r"""Checks an exported SavedModel against the Keras model it came from.

    python -m export.verify exported/quickstart/1    # or exported/quickstart (newest version)
        [--checkpoint=PATH | --log_dir=RUN] [--atol=1e-4] [--rtol=1e-4]

Loads the SavedModel in a fresh subprocess that does not import video_lstm, runs every signature
on sample inputs and compares each output with the Keras model's (from the checkpoint recorded in
`assets/export.json`, or the one given): `export.verification`. Prints the signatures and one line
per output; exits 1 on a mismatch (or a missing output, a wrong shape).
"""

import sys

from absl import app, flags

from export import verification
from export.verification import HELP, VerifyOptions
from video_lstm.core import cli


def __getattr__(name):
    """`from export.verify import verify`: the Python API's home until issue 30, kept for a release
    (it is `export.verification`)."""
    return getattr(verification, name)


def define_flags(flag_values=flags.FLAGS):
    """The flags of `python -m export.verify`, on `flag_values` (one per `VerifyOptions` field but `path`)."""
    cli.define_log_dir(flag_values, "Compare with this run's newest checkpoint.")
    cli.define_dataclass_flags(VerifyOptions, flag_values, HELP, skip=("path",))


def settings(flag_values=flags.FLAGS, path=""):
    """The `VerifyOptions` of the flags and of `path` (the command's one argument)."""
    return VerifyOptions(path=path, **cli.dataclass_values(VerifyOptions, flag_values, skip=("path",)))


def main(argv, flag_values=flags.FLAGS):
    if len(argv) != 2:
        raise app.UsageError("usage: python -m export.verify <version_dir or model_dir>")
    try:
        ok = verification.run(settings(flag_values, argv[1]))
    except (verification.VerifyError, *verification.VERIFY_ERRORS) as error:
        cli.fail("export.verify", error)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    cli.run(define_flags, main)

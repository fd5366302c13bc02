"""What every command line of the project does alike: refuse stray arguments
and a missing --log_dir as usage errors, and end on bad input with one error
line and exit status 1. Imports only absl, so entry points can call it before
their heavy imports."""

import sys

from absl import app


def check_invocation(argv, log_dir, log_dir_help):
    """Raises app.UsageError on positional arguments or an empty --log_dir;
    `log_dir_help` says what --log_dir is, in the error."""
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if not log_dir:
        raise app.UsageError(f"--log_dir is required ({log_dir_help})")


def fail(program, error):
    """Ends the program with `<program>: error: <error>` on stderr, no
    traceback: bad input, not a bug."""
    print(f"{program}: error: {error}", file=sys.stderr)
    sys.exit(1)

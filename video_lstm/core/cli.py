"""What every command line of the project does alike.

An entry point is a module with

    def define_flags(flag_values=flags.FLAGS): ...   # its flags, on any FlagValues
    def main(argv, flag_values=flags.FLAGS): ...     # the work, reading those flags
    if __name__ == "__main__":
        cli.run(define_flags, main)

so that it runs as `python -m <module>` (`run`: absl's `app.run` on the
global flags) and in-process on flags of its own (`call`: what tests and
notebooks use; several entry points can live in one process). Stray arguments
and a missing --log_dir are usage errors; bad input ends the program with one
error line and exit status 1 (`fail`). Imports only absl, so entry points can
call it before their heavy imports.
"""

import sys

from absl import app, flags


def define_log_dir(flag_values, help_text):
    """--log_dir: absl.logging's own flag on the global FlagValues, defined here on any other."""
    if "log_dir" not in flag_values:
        flags.DEFINE_string("log_dir", "", help_text, flag_values=flag_values)


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


def run(define_flags, main):
    """`python -m <module>`: the module's flags on absl's global FlagValues, then `app.run`."""
    define_flags(flags.FLAGS)
    app.run(main)


def call(module, argv=()):
    """Runs entry point `module` in this process as `python -m <module> <argv...>` would;
    returns its exit status.

    The flags are parsed on a fresh FlagValues of the module's own (`module.define_flags`),
    so calls do not leak flag values into each other. A bad flag or a usage error prints
    one line on stderr and gives 1, as on the command line.
    """
    flag_values = flags.FlagValues()
    module.define_flags(flag_values)
    program = module.__name__
    try:
        remaining = flag_values([program, *argv])
        module.main(remaining, flag_values)
    except flags.Error as error:
        print(f"FATAL Flags parsing error: {error}", file=sys.stderr)
        return 1
    except app.UsageError as error:
        print(f"{program}: usage error: {error}", file=sys.stderr)
        return error.exitcode
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0

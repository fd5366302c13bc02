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

`run` is also the one place that keeps start-up chatter out of the terminal
(`quiet_start_up`: TensorFlow's C++ log lines, its CUDA probing, Beam's import
notices) unless `--verbosity` asks for it (>= 0, INFO), and that makes `--help`
and `--helpshort` list the command's own flags (`_adopt_key_flags`).
"""

import contextlib
import dataclasses
import logging
import os
import re
import sys
import typing

from absl import app, flags

# TensorFlow's C++ log level; a value the user set is left as it is.
TF_LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL"
# Modules whose import writes to stderr from C++ or from logging (TensorFlow: "Could not find cuda
# drivers", absl::InitializeLog; Beam: "apitools not found ... bigquery"): imported with stderr silenced.
NOISY_IMPORTS = ("tensorflow", "apache_beam")


def define_log_dir(flag_values, help_text):
    """--log_dir: absl.logging's own flag on the global FlagValues (its help replaced by
    `help_text`: what --log_dir is to this command), defined here on any other."""
    if "log_dir" not in flag_values:
        flags.DEFINE_string("log_dir", "", help_text, flag_values=flag_values)
    else:
        flag_values["log_dir"].help = help_text


def check_invocation(argv, log_dir, log_dir_help):
    """Raises app.UsageError on positional arguments or an empty --log_dir;
    `log_dir_help` says what --log_dir is, in the error."""
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if not log_dir:
        raise app.UsageError(f"--log_dir is required ({log_dir_help})")


# Terminal colour codes (Keras colours its exception texts).
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Where a Keras layer's exception text stops describing the error and starts listing its arguments.
_ARGUMENTS = re.compile(r"^\s*Arguments received by ")
_LONGEST = 600


def tensorflow_error(error):
    """Whether `error` is one of TensorFlow's (`tf.errors.OpError`: ResourceExhaustedError on a
    full disk, PermissionDeniedError, NotFoundError...), without importing TensorFlow: only a
    process that has loaded it can have one."""
    errors = sys.modules.get("tensorflow.python.framework.errors_impl")
    return errors is not None and isinstance(error, errors.OpError)


def one_line(error):
    """The text of an exception (or any message) as one line: colour codes removed, its
    lines joined, a Keras layer's list of call arguments left out, at most ~600 characters.
    A TensorFlow error gives its message (the path it names), without the op and graph
    details TensorFlow appends."""
    text = str(error)
    if tensorflow_error(error):
        text = f"{type(error).__name__}: {error.message}"
    lines = []
    for line in _ANSI.sub("", text).splitlines():
        if _ARGUMENTS.match(line):
            break
        if line.strip():
            lines.append(line.strip())
    text = " ".join(lines) or type(error).__name__
    return text if len(text) <= _LONGEST else text[: _LONGEST - 3] + "..."


def fail(program, error):
    """Ends the program with `<program>: error: <error>` on stderr, one line, no
    traceback: bad input, not a bug."""
    print(f"{program}: error: {one_line(error)}", file=sys.stderr)
    sys.exit(1)


def run(define_flags, main):
    """`python -m <module>`: the module's flags on absl's global FlagValues, then `app.run`.

    A bad flag or a usage error (`app.UsageError`) ends the program with one line on stderr
    and exit status 1, as in `call`, rather than absl's page of usage text. Start-up chatter
    is kept out first (`quiet_start_up`, before the command's flags are defined: defining
    them may import TensorFlow), and the command's flags become key flags of the main
    module, so that --help and --helpshort list them.
    """
    quiet_start_up(_verbosity_asked(sys.argv[1:]))
    before = {id(flags.FLAGS[name]) for name in flags.FLAGS}
    log_dir_help = flags.FLAGS["log_dir"].help if "log_dir" in flags.FLAGS else None
    define_flags(flags.FLAGS)
    _adopt_key_flags(before, log_dir_help)
    program = _program_name()

    def parse(argv):
        try:
            remaining = flags.FLAGS(argv)
            apply_deprecated_aliases(flags.FLAGS, program)
            return remaining
        except flags.Error as error:
            print(f"FATAL Flags parsing error: {one_line(error)}", file=sys.stderr)
            sys.exit(1)

    def guarded(argv):
        try:
            return main(argv)
        except app.UsageError as error:
            print(f"{program}: usage error: {one_line(error)}", file=sys.stderr)
            sys.exit(error.exitcode)
        except Exception as error:
            if not tensorflow_error(error):
                raise
            fail(program, error)  # a full disk, a permission, a file gone under TensorFlow: bad input

    app.run(guarded, flags_parser=parse)


def _adopt_key_flags(before, log_dir_help):
    """Registers the flags `define_flags` added (not in `before`, ids of the Flag objects), and
    --log_dir where the command gave it its own help, as key flags of the main module:
    absl's --help/--helpshort list the main module's key flags, and the commands define
    theirs in functions of other modules (this one), which absl would credit instead."""
    added = {id(flag): flag for flag in (flags.FLAGS[name] for name in flags.FLAGS) if id(flag) not in before}
    own = list(added.values())
    if "log_dir" in flags.FLAGS and flags.FLAGS["log_dir"].help != log_dir_help:
        own.append(flags.FLAGS["log_dir"])
    for flag in own:
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)


def _verbosity_asked(argv):
    """The --verbosity (-v) that the command line gives, read before absl parses it (the flags
    are defined after this is needed); -1 (absl's default, WARNING) if none. A --flagfile's
    --verbosity is not seen here."""
    value = None
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        for name in ("--verbosity", "-verbosity", "--v", "-v"):
            if arg.startswith(name + "="):
                value = arg[len(name) + 1:]
            elif arg == name and i + 1 < len(argv):
                value = argv[i + 1]
    names = {"debug": 1, "info": 0, "warning": -1, "warn": -1, "error": -2, "fatal": -3}
    if value is None:
        return -1
    try:
        return int(value)
    except ValueError:
        return names.get(value.strip().lower(), -1)


def quiet_start_up(verbosity=-1):
    """Keeps TensorFlow's and Beam's start-up chatter out of stderr unless `verbosity` (absl's
    --verbosity) asks for INFO (>= 0), or the user set TF_CPP_MIN_LOG_LEVEL. Call it before
    anything imports TensorFlow (the level is read once, at its import).

    Quiet: TF_CPP_MIN_LOG_LEVEL=3 (no C++ INFO, WARNING or ERROR lines: "failed call to
    cuInit", oneDNN and CPU-feature notes; Python errors still show), inherited by worker
    processes; the first import of TensorFlow and of apache_beam with stderr silenced (what
    they print from C++ at import, before any log level applies: "Could not find cuda
    drivers"; Beam's "apitools not found ... bigquery" notice); Beam's Python loggers at ERROR.
    """
    if verbosity >= 0 or TF_LOG_LEVEL in os.environ:
        return
    os.environ[TF_LOG_LEVEL] = "3"
    logging.getLogger("apache_beam").setLevel(logging.ERROR)
    pending = [name for name in NOISY_IMPORTS if name not in sys.modules]
    if pending and not any(isinstance(finder, _SilentImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SilentImport(pending))


class _SilentImport:
    """A meta path finder that runs the first import of each of `names` with stderr (file
    descriptor 2) pointed at /dev/null; the spec is the one the other finders give."""

    def __init__(self, names):
        self.names = set(names)

    def find_spec(self, name, path=None, target=None):
        if name not in self.names:
            return None
        self.names.discard(name)
        if not self.names and self in sys.meta_path:
            sys.meta_path.remove(self)
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is not None and hasattr(loader, "exec_module"):
            exec_module = loader.exec_module

            def silent_exec_module(module):
                with silenced_stderr():
                    exec_module(module)

            loader.exec_module = silent_exec_module
        return spec


@contextlib.contextmanager
def silenced_stderr():
    """File descriptor 2 (C++ and Python writes alike) goes to /dev/null within the block."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable stderr: nothing to silence
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _program_name():
    """The running module's name (`video_lstm.train` under `python -m`), else the script's."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return spec.name if spec is not None else (sys.argv[0] or "program")


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
        apply_deprecated_aliases(flag_values, program)
        module.main(remaining, flag_values)
    except flags.Error as error:
        print(f"FATAL Flags parsing error: {one_line(error)}", file=sys.stderr)
        return 1
    except app.UsageError as error:
        print(f"{program}: usage error: {one_line(error)}", file=sys.stderr)
        return error.exitcode
    except Exception as error:
        if not tensorflow_error(error):
            raise
        print(f"{program}: error: {one_line(error)}", file=sys.stderr)
        return 1
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


# -- flags generated from dataclasses ---------------------------------------------


def field_kind(annotation):
    """bool, int, float, str or tuple: what flag a dataclass field's annotation asks for
    (`int | None` is int; a string annotation is read by name)."""
    if isinstance(annotation, str):
        name = annotation.replace(" ", "").replace("|None", "").replace("None|", "").replace("typing.", "")
        name = name.replace("Optional[", "").rstrip("]")
        return {"bool": bool, "int": int, "float": float, "tuple": tuple}.get(name, str)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if args:
        return field_kind(args[0])
    origin = typing.get_origin(annotation) or annotation
    return origin if origin in (bool, int, float, tuple) else str


def define_dataclass_flags(cls, flag_values, help_texts, choices=None, skip=()):
    """One flag per field of dataclass `cls` on `flag_values`, its default the field's (a
    field without one gets None: the command checks it). A field already defined (shared by
    two dataclasses) is left as it is.

    Args:
        help_texts: {field: help}; every flag needs one.
        choices: {field: allowed values}: an enum flag, refused at parse time.
        skip: fields that get no flag.
    """
    choices = choices or {}
    for field in dataclasses.fields(cls):
        name = field.name
        if name in skip or name in flag_values:
            continue
        default = None if field.default is dataclasses.MISSING else field.default
        help_text, allowed, kind = help_texts[name], choices.get(name), field_kind(field.type)
        define = dict(flag_values=flag_values)
        if allowed:
            flags.DEFINE_enum(name, default, list(allowed), help_text, **define)
        elif kind is bool:
            flags.DEFINE_bool(name, default, help_text, **define)
        elif kind is int:
            flags.DEFINE_integer(name, default, help_text, **define)
        elif kind is float:
            flags.DEFINE_float(name, default, help_text, **define)
        elif kind is tuple:
            flags.DEFINE_list(name, None if default is None else [str(v) for v in default], help_text, **define)
        else:
            flags.DEFINE_string(name, default, help_text, **define)


def dataclass_values(cls, flag_values, skip=()):
    """{field: parsed flag value} for the fields of `cls` (lists as tuples)."""
    values = {}
    for field in dataclasses.fields(cls):
        if field.name in skip:
            continue
        value = flag_values[field.name].value
        values[field.name] = tuple(value) if isinstance(value, list) else value
    return values


# -- old flag names, kept for a release ---------------------------------------------

_DEPRECATED_FOR = "_video_lstm_deprecated_for"  # the attribute marking an old name's Flag


def define_deprecated_alias(flag_values, old, new):
    """--`old`, an old name of --`new` (already defined on `flag_values`) kept for a release so
    that users' flagfiles still run: the same kind of flag, no default, its help
    "Deprecated: use --new. <new's help>" (--log_dir, absl's own flag where `flag_values` has it, is
    adopted as the alias). After parsing (`run`, `call`), a value given to it
    goes to --`new` with one warning line (`apply_deprecated_aliases`)."""
    target = flag_values[new]
    help_text = f"Deprecated: use --{new}. {target.help}"
    if isinstance(target, flags.MultiFlag):
        raise TypeError(f"--{new}: a multi flag has no deprecated alias")  # a bug, not bad input
    if old == "log_dir" and old in flag_values:  # absl.logging's own string flag (the global FlagValues)
        flag = flag_values[old]
        flag.help = help_text
        setattr(flag, _DEPRECATED_FOR, new)
        return flag
    flag = flags.Flag(target.parser, target.serializer, old, None, help_text, boolean=target.boolean)
    setattr(flag, _DEPRECATED_FOR, new)
    flags.DEFINE_flag(flag, flag_values=flag_values)
    return flag


def deprecated_aliases(flag_values):
    """{old name: new name} of the deprecated aliases defined on `flag_values`."""
    return {name: getattr(flag_values[name], _DEPRECATED_FOR) for name in flag_values
            if hasattr(flag_values[name], _DEPRECATED_FOR)}


_RETIRED = "_video_lstm_retired"  # the attribute marking a flag a command no longer reads


def define_retired_flag(flag_values, name, kind, reason):
    """--`name`, a flag the command no longer reads (it came with another command's flags),
    accepted and ignored for a release so that users' flagfiles still run: `kind` (bool, int,
    float or str) parses its values, its help "Deprecated: not read: <reason>". Given, it is
    named in one warning line (`apply_deprecated_aliases`)."""
    define = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer, float: flags.DEFINE_float}.get(kind,
                                                                                              flags.DEFINE_string)
    flag = define(name, None, f"Deprecated: not read: {reason}. Accepted and ignored for a release.",
                  flag_values=flag_values)
    setattr(flag_values[name], _RETIRED, reason)
    return flag


def retired_flags(flag_values):
    """{name: reason} of the retired flags defined on `flag_values`."""
    return {name: getattr(flag_values[name], _RETIRED) for name in flag_values
            if hasattr(flag_values[name], _RETIRED)}


def apply_deprecated_aliases(flag_values, program):
    """Gives each deprecated alias's value (where given) to its new flag, saying so in one
    warning line on stderr; an alias and its new name both given with other values is a
    flags error naming both. Retired flags given are named in one warning line."""
    given = sorted(name for name in retired_flags(flag_values) if flag_values[name].present)
    if given:
        reasons = sorted(set(retired_flags(flag_values)[name] for name in given))
        print(f"{program}: warning: ignored {len(given)} flag(s) it does not read ({'; '.join(reasons)}): "
              + ", ".join(f"--{name}" for name in given), file=sys.stderr)
    for old, new in deprecated_aliases(flag_values).items():
        if not flag_values[old].present:
            continue
        value = flag_values[old].value
        if flag_values[new].present and flag_values[new].value != value:
            raise flags.IllegalFlagValueError(f"--{old} (deprecated: use --{new}) and --{new} give two values: "
                                              f"{value!r} and {flag_values[new].value!r}")
        flag_values[new].value = value
        flag_values[new].present = 1
        print(f"{program}: warning: --{old} is deprecated: use --{new} (same meaning)", file=sys.stderr)

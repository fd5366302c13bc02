r"""Sends one request of random clips to a model TF Serving serves: a smoke test of the server.

    python -m export.client --model_name=quickstart [--protocol=grpc] \
        [--signature_name=reconstruct_and_predict --future_length=10]

The clients themselves (REST and gRPC, the request builders, TF Serving's model config file)
are `export.serving_client`; see docs/export.md.
"""

from absl import app, flags

from export import serving_client
from export.serving_client import CHOICES, HELP, ClientOptions
from video_lstm.core import cli

# Old names kept for a release: (old, new).
DEPRECATED = (("time", "input_length"), ("future_steps", "future_length"), ("batch", "batch_size"))


def __getattr__(name):
    """`from export import client; client.RestClient`: the Python API's home until issue 30, kept for a
    release (it is `export.serving_client`)."""
    return getattr(serving_client, name)


def define_flags(flag_values=flags.FLAGS):
    """The flags of `python -m export.client`, on `flag_values` (one per `ClientOptions` field)."""
    cli.define_dataclass_flags(ClientOptions, flag_values, HELP, CHOICES)
    for old, new in DEPRECATED:
        cli.define_deprecated_alias(flag_values, old, new)


def settings(flag_values=flags.FLAGS):
    """The `ClientOptions` of the flags."""
    return ClientOptions(**cli.dataclass_values(ClientOptions, flag_values))


def main(argv, flag_values=flags.FLAGS):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    options = settings(flag_values)
    if not options.model_name:
        raise app.UsageError("--model_name is required (the served model's name)")
    try:
        lines = serving_client.smoke_test(options)
    except (serving_client.ServingError, ValueError) as error:
        cli.fail("export.client", error)
    print("\n".join(lines))


if __name__ == "__main__":
    cli.run(define_flags, main)

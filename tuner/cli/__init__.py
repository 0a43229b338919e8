"""Command-line interface. Each command module only parses, calls the API and prints.

Commands live in one module per task so that they stay small:
`sweep_cmd` (sweep), `pick_cmd` (leaderboard, show, export, retrain, report),
`estimate_cmd` (estimate, targets, calibrate), `spaces_cmd` (spaces), `verify_cmd` (verify).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import typer  # noqa: E402

from tuner.errors import InputError  # noqa: E402

app = typer.Typer(
    name="tuner",
    help="Hardware-aware AutoML for microcontrollers: find the most accurate int8 model that fits.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from tuner import __version__

        print(f"tinyml-tuner {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False, "--version", help="print the version and exit", callback=_version, is_eager=True
    ),
) -> None:
    """Hardware-aware AutoML for microcontrollers: find the most accurate int8 model that fits."""


def _register() -> None:
    import importlib

    for name in ("sweep_cmd", "pick_cmd", "estimate_cmd", "spaces_cmd", "verify_cmd"):
        try:
            importlib.import_module(f"tuner.cli.{name}")
        except ModuleNotFoundError as exc:  # a command module not written yet
            if exc.name != f"tuner.cli.{name}":
                raise


def main() -> None:
    """Console entry point: bad input -> one line on stderr, exit 2."""
    _register()
    try:
        app(standalone_mode=False)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except SystemExit:
        raise
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # usage errors come here in non-standalone mode (typer vendors click)
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            print(f"error: {exc.format_message()}", file=sys.stderr)
            sys.exit(2)
        raise


def entry() -> None:
    """The `tuner` command: `main`, then out without the interpreter's teardown. Unloading TensorFlow
    and its graphs takes 1-2 s after a sweep (0.3 s after `tuner leaderboard`) and does nothing for
    the user: every file was written and closed, every study write committed, and workers were waited
    for. Exit handlers run and output is flushed first. In-process callers (tests, notebooks) use
    `main`."""
    import logging

    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 130 if isinstance(sys.exc_info()[1], KeyboardInterrupt) else 1
    import atexit

    atexit._run_exitfuncs()  # fast (the TFLM helper process is told to stop); the teardown is not
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

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
        code = app(standalone_mode=False)  # non-standalone: Ctrl-C and typer.Exit(n) return n, not exit
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
    if code == 130:
        print("interrupted (tuner sweep --resume continues a sweep where it stopped)", file=sys.stderr)
    if isinstance(code, int) and code:
        sys.exit(code)


def entry() -> None:
    """The `tuner` command: `main`, then, when the command imported TensorFlow, the exit handlers
    and an exit without tearing down the interpreter, which took 1.0-1.1 s after TensorFlow had run
    (freeing its modules and objects one by one). Everything the command writes is closed by then;
    the exit handlers (logging, the exact-arena process) still run."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        if "tensorflow" not in sys.modules or not (exc.code is None or isinstance(exc.code, int)):
            raise
        code = exc.code or 0
    if "tensorflow" in sys.modules:
        import atexit
        import threading

        for t in threading.enumerate():  # as a normal exit does: wait for the threads that are not daemons
            if t is not threading.current_thread() and not t.daemon:
                t.join()
        sys.stdout.flush()
        sys.stderr.flush()
        atexit._run_exitfuncs()  # what a normal exit runs next; the teardown after it is what is skipped
        os._exit(code)

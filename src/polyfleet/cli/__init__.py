"""The `polyfleet` command line: a thin face over the library."""

from __future__ import annotations

import errno
import importlib
import os
import sys
import traceback

import typer
from rich.console import Console
from rich.text import Text

from ..errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_PIPE_CLOSED, EXIT_USER, PolyfleetError, one_line
from .state import State

EXIT_CODES = ("Exit codes: 0 done; 1 a bug in polyfleet (rerun with --debug for the traceback and report it); "
              "2 bad input (the message names the file and line, the field or option, and what is allowed); "
              "3 no feasible plan (the diagnosis says what cannot hold together); 130 interrupted; "
              "141 the reader of the output closed it (`| head`), silently.")

app = typer.Typer(
    name="polyfleet",
    help="Plan, place and protect AI compute across TPUs, Trainium and GPUs on several clouds.",
    epilog="Examples:\n\n"
           "  polyfleet compare --model llama-3.1-70b --inference\n\n"
           "  polyfleet perf inference --model llama-3.1-8b --accelerator h100 --tpot-ms 50\n\n"
           "  polyfleet catalog --family tpu --format csv\n\n"
           "  polyfleet --debug plan my.yaml          (a traceback with any internal error)\n\n" + EXIT_CODES,
    rich_markup_mode="rich",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version
        typer.echo(f"polyfleet {version('polyfleet')}")
        raise typer.Exit()


@app.callback()
def _global(
    ctx: typer.Context,
    catalog: list[str] = typer.Option([], "--catalog", metavar="FILE",
                                      help="Catalog override (YAML, price CSV or SkyPilot vms.csv); repeatable."),
    models: list[str] = typer.Option([], "--models", metavar="FILE", help="Extra model definitions (YAML)."),
    debug: bool = typer.Option(False, "--debug", help="Print the traceback of an error (for bug reports)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    ctx.obj = State(catalog_files=tuple(catalog), model_files=tuple(models), debug=debug)


def _register() -> None:
    from . import facts, perf  # noqa: F401  (commands register themselves on import)
    for name in ("planning", "placing", "protecting", "bridges", "serve"):
        try:
            __import__(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:  # a face not built yet
            if exc.name != f"{__name__}.{name}":
                raise


_register()


def _click_exceptions():
    """The exceptions module of the click typer runs on (newer typer releases vendor their own click)."""
    base = next(c for c in typer.Context.__mro__[1:] if c.__name__ == "Context")
    return importlib.import_module(base.__module__.rsplit(".", 1)[0] + ".exceptions")


def _pipe_closed(ck) -> bool:
    """Whether click has just met a closed output pipe: it swaps stdout for its pacifying wrapper
    and calls sys.exit(1), which would read as a bug of ours."""
    wrapper = getattr(importlib.import_module(ck.__name__.rsplit(".", 1)[0] + ".utils"), "PacifyFlushWrapper", ())
    return isinstance(sys.stdout, wrapper)


def _rich_pipe_closed(console: Console) -> None:
    """Rich's hook for a closed output pipe, which would exit 1 (a bug, by our codes): stay quiet
    and raise the closed pipe for `main` to end with EXIT_PIPE_CLOSED (which silences stdout)."""
    console.quiet = True
    raise BrokenPipeError(errno.EPIPE, "the output's reader closed it")


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush into the closed pipe stays silent."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.__stdout__.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _say(head: str, text: str, style: str = "bold red") -> None:
    Console(stderr=True, soft_wrap=True).print(Text(head, style=style) + Text(one_line(text)))


def main() -> None:
    """Entry point. Bad input ends in one line and exit 2, an infeasible plan in exit 3; anything
    else is a bug of ours: exit 1 with one line, the traceback behind --debug. Ctrl-C: exit 130.
    A reader that closes the output early (`polyfleet plan | head -1`) ends it silently with 141,
    as it ends `cat`: the output was cut short, and that is not a bug."""
    from . import common
    debug = "--debug" in sys.argv[1:] or os.environ.get("POLYFLEET_DEBUG", "") not in ("", "0")
    common.reset_pending()
    ck = _click_exceptions()
    interrupts = (KeyboardInterrupt, typer.Abort, getattr(ck, "Abort", typer.Abort))
    Console.on_broken_pipe = _rich_pipe_closed    # the hook rich documents for changing what it does
    try:
        code = app(standalone_mode=False, prog_name="polyfleet")
    except SystemExit:
        if not _pipe_closed(ck):
            raise
        code = EXIT_PIPE_CLOSED
    except BrokenPipeError:
        code = EXIT_PIPE_CLOSED
    except ck.NoArgsIsHelpError as exc:
        exc.show()                        # the help: no command is not a mistake worth an error line
        code = EXIT_USER
    except ck.UsageError as exc:
        where = f"{exc.ctx.command_path}: " if exc.ctx is not None else ""
        hint = f" (see {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
        _say("error: ", f"{where}{exc.format_message()}{hint}")
        code = exc.exit_code
    except PolyfleetError as exc:
        if debug:
            traceback.print_exc()
        _say("error: ", str(exc))
        code = exc.exit_code
    except interrupts:
        code = EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - everything else is a bug of ours, said so
        if debug:
            traceback.print_exc()
        _say("error: ", f"internal error (this is a bug): {type(exc).__name__}: {str(exc)[:400]}"
             + ("" if debug else "; rerun with --debug for the traceback"))
        code = EXIT_INTERNAL
    if code == EXIT_PIPE_CLOSED:
        _quiet_stdout()
    elif code == EXIT_INTERRUPTED:
        _say("", "interrupted", style="")
    elif not code and common.pending() is not None:
        _say("error: ", str(common.pending()))
        code = common.pending().exit_code
    sys.exit(code or 0)

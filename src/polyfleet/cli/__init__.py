"""The `polyfleet` command line: a thin face over the library."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.text import Text

from ..errors import PolyfleetError
from .state import State

app = typer.Typer(
    name="polyfleet",
    help="Plan, place and protect AI compute across TPUs, Trainium and GPUs on several clouds.",
    epilog="Examples:\n\n"
           "  polyfleet compare --model llama-3.1-70b --inference\n\n"
           "  polyfleet perf inference --model llama-3.1-8b --accelerator h100 --tpot-ms 50\n\n"
           "  polyfleet catalog --family tpu --format csv",
    rich_markup_mode="rich",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _global(
    ctx: typer.Context,
    catalog: list[str] = typer.Option([], "--catalog", metavar="FILE",
                                      help="Catalog override (YAML, price CSV or SkyPilot vms.csv); repeatable."),
    models: list[str] = typer.Option([], "--models", metavar="FILE", help="Extra model definitions (YAML)."),
) -> None:
    ctx.obj = State(catalog_files=tuple(catalog), model_files=tuple(models))


def _register() -> None:
    from . import facts, perf  # noqa: F401  (commands register themselves on import)
    for name in ("planning", "placing", "protecting"):
        try:
            __import__(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:  # a face not built yet
            if exc.name != f"{__name__}.{name}":
                raise


_register()


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback."""
    try:
        try:
            app()
        except SystemExit as exc:             # typer turns Ctrl-C into a silent exit 130: say so
            if exc.code == 130 and _from_interrupt(exc):
                raise KeyboardInterrupt from exc
            raise
    except PolyfleetError as exc:
        Console(stderr=True, soft_wrap=True).print(Text("error: ", style="bold red") + Text(str(exc)))
        sys.exit(2)
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted")
        sys.exit(130)


def _from_interrupt(exc: BaseException) -> bool:
    """Whether a KeyboardInterrupt is behind this exception (typer's Exit(130) chains it)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False

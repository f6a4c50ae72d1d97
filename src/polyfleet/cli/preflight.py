"""What a command was given, checked before any work (no solve, no Monte Carlo run first).

Every command calls `options(ctx)` first: each option is checked by its name, with the same rule
wherever it appears (`--seed`, `--gap`, `--months`, ...); NaN and infinity are refused; options
that would do nothing in the combination given are refused; `--out` is checked (a path under a
file, an unwritable place, files there that polyfleet did not write) and so are the --catalog and
--models files. Commands that simulate call `simulation(...)` once the scenario is read, so a
what-if naming nothing, or starting after the simulated months, is refused before the plan solve.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import typer

from ..catalog import TERMS
from ..errors import UserError
from ..report.tables import FORMATS
from ..scenario.faults import what_if_event
from ..scenario.sections import KvDtype, TrainingDtype, WeightDtype
from .common import clashes

WEIGHT_DTYPES = typing.get_args(WeightDtype)
KV_DTYPES = typing.get_args(KvDtype)
TRAINING_DTYPES = typing.get_args(TrainingDtype)
DEFAULT_LEVELS = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)
METHODS = ("lp", "milp", "greedy")


def given(ctx: typer.Context, name: str) -> bool:
    """Whether the user set option `name` (not its default)."""
    src = ctx.get_parameter_source(name)       # an enum of the click typer runs on (newer typer vendors it)
    return src is not None and src.name not in ("DEFAULT", "DEFAULT_MAP")


def flag(ctx: typer.Context, name: str) -> str:
    """`--time-limit` for the parameter `time_limit`."""
    for p in ctx.command.params:
        if p.name == name:
            longs = [o for o in p.opts if o.startswith("--")]
            return longs[0] if longs else str(p.name)
    return name


def _whole(lo: int, hi: int) -> Callable[[Any, str], None]:
    def check(v: Any, opt: str) -> None:
        if v < lo:
            raise UserError(f"must be at least {lo:,}, not {v}", field=opt)
        if v > hi:
            raise UserError(f"must be at most {hi:,}, not {v}", field=opt)
    return check


def _real(lo: float, hi: float, lo_open: bool = False, hi_open: bool = False) -> Callable[[Any, str], None]:
    def check(v: Any, opt: str) -> None:
        ok = math.isfinite(v) and (lo < v if lo_open else lo <= v) and (v < hi if hi_open else v <= hi)
        if not ok:
            rng = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
            raise UserError(f"must be a finite number in {rng}, not {v}", field=opt)
    return check


def _choice(values: Sequence[str]) -> Callable[[Any, str], None]:
    def check(v: Any, opt: str) -> None:
        if v not in values:
            raise UserError(f"unknown value '{v}'", field=opt, allowed=", ".join(values))
    return check


_RAY = re.compile(r"^(auto|local|(ray://)?[A-Za-z0-9_.\-]+:\d{1,5})$")


def _ray_address(v: Any, opt: str) -> None:
    if not _RAY.match(v):
        raise UserError(f"'{v}' is not a Ray address", field=opt, allowed="auto, local, ray://HOST:PORT or HOST:PORT")


def _what_ifs(values: Any, opt: str) -> None:
    for text in values:
        what_if_event(text, opt)


# One rule per option, whichever command has it.
RULES: dict[str, Callable[[Any, str], None]] = {
    "--seed": _whole(0, 2**63 - 1), "--runs": _whole(1, 1_000_000), "--workers": _whole(1, 1024),
    "--months": _whole(1, 120), "--step-minutes": _real(1, 1440), "--gap": _real(0, 1, hi_open=True),
    "--time-limit": _real(0, 7 * 86400, lo_open=True), "--node-limit": _whole(1, 10**9), "--format": _choice(FORMATS), "--term": _choice(TERMS),
    "--method": _choice(METHODS), "--chips": _whole(1, 10_000_000), "--batch": _whole(1, 1_000_000),
    "--input-tokens": _whole(1, 10_000_000), "--output-tokens": _whole(1, 10_000_000),
    "--seq-len": _whole(1, 10_000_000), "--tokens": _real(0, 1e18, lo_open=True),
    "--ttft-ms": _real(0, 3.6e6, lo_open=True), "--tpot-ms": _real(0, 3.6e6, lo_open=True),
    "--what-if": _what_ifs, "--kv-dtype": _choice(KV_DTYPES), "--ray": _ray_address,
    # options of the perf faces on main (compare --days, calibration --folds, ...): same rules when merged
    "--days": _real(0, 36500, lo_open=True), "--system-chips": _whole(1, 10_000_000), "--folds": _whole(2, 100),
    "--max-price-age": _whole(0, 36500), "--paths": _whole(2, 200),
}

# option -> (the option it needs, why): given without it, it would do nothing
NEEDS = {"--levels": ("--frontier", "it sets the survivability levels of --frontier"),
         "--overwrite": ("--out", "it lets --out replace files polyfleet did not write"),
         "--rebalance": ("--lose", "it re-places globally after the loss")}
# a switch -> options that do nothing when it is on
UNUSED_WITH = {"--training": ("--input-tokens", "--output-tokens", "--ttft-ms", "--tpot-ms", "--no-slo"),
               "--inference": ("--tokens", "--seq-len", "--chips", "--days"),
               "--ray": ("--workers",)}


def options(ctx: typer.Context, *, outputs: Sequence[str] = (), dtypes: Sequence[str] | None = None,
            out_file: bool = False) -> None:
    """Check every option of the running command (see the module docstring). `outputs`: the files
    the command will write into --out; `dtypes`: the values --dtype may take here; `out_file`: --out
    names one file (the import commands), not a directory."""
    names = {flag(ctx, p.name): p.name for p in ctx.command.params if p.name}
    params = {opt: ctx.params.get(name) for opt, name in names.items()}
    for opt, value in params.items():
        rule = RULES.get(opt)
        if rule is not None and value is not None:
            rule(value, opt)
    if dtypes is not None and "--dtype" in params:
        _choice(dtypes)(params["--dtype"], "--dtype")
    for opt, (needs, why) in NEEDS.items():
        if opt in params and given(ctx, names[opt]) and not params.get(needs):
            raise UserError(f"does nothing without {needs}: {why}", field=opt)
    for switch, unused in UNUSED_WITH.items():
        if params.get(switch):
            for opt in unused:
                if opt in params and given(ctx, names[opt]):
                    raise UserError(f"has no effect with {switch}", field=opt)
    if params.get("--out") is not None:
        check = out_path if out_file else out_dir
        check(Path(params["--out"]), outputs, bool(params.get("--overwrite")))
    if ctx.obj is not None:
        ctx.obj.check_files()


def levels(text: str | None) -> list[float]:
    """--levels as shares in [0, 1] (default `DEFAULT_LEVELS`)."""
    if text is None:
        return list(DEFAULT_LEVELS)
    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UserError(f"'{text}' is not a list of numbers", field="--levels", allowed="e.g. 0,0.5,0.9,1") from None
    if not vals or not all(math.isfinite(v) and 0 <= v <= 1 for v in vals):
        raise UserError(f"'{text}': levels are shares from 0 to 1", field="--levels", allowed="e.g. 0,0.5,0.9,1")
    return vals


def out_dir(out: Path, names: Sequence[str] = (), overwrite: bool = False) -> None:
    """--out can be written: not a file, not under a file, in a place we may write, and holding
    none of `names` that polyfleet did not write (unless `overwrite`)."""
    existing = next((p for p in (out, *out.parents) if p.exists()), Path("."))
    if out.exists() and not out.is_dir():
        raise UserError("exists and is not a directory", where=str(out), field="--out")
    if existing != out and not existing.is_dir():
        raise UserError(f"is under a file ({existing})", where=str(out), field="--out")
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".polyfleet-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UserError(f"cannot write in {existing} ({exc.strerror or exc})", where=str(out), field="--out") from None
    clash = clashes(out, names, overwrite)
    if clash:
        raise UserError(f"{', '.join(clash)} already exist(s) there and polyfleet did not write them",
                        where=str(out), field="--out", allowed="another directory, or --overwrite")


def out_path(out: Path, _names: Sequence[str] = (), overwrite: bool = False) -> None:
    """--out as one file: not a directory, in a directory we may write, not an existing file
    unless `overwrite`."""
    if out.is_dir():
        raise UserError("is a directory; give a file path", where=str(out), field="--out")
    if out.exists() and not overwrite:
        raise UserError("already exists", where=str(out), field="--out", allowed="another path, or --overwrite")
    existing = next((p for p in out.parents if p.exists()), Path("."))
    if not existing.is_dir():
        raise UserError(f"is under a file ({existing})", where=str(out), field="--out")
    if not os.access(existing, os.W_OK):
        raise UserError(f"cannot write in {existing}", where=str(out), field="--out")


def simulation(scn, what_if: Sequence[str], months: int | None) -> int:
    """Before the plan solve of simulate/risk: --months within the horizon, each --what-if naming
    something the scenario's offerings hold and starting inside the simulated months, and the same
    for the scenario's `faults.events`. Returns the months simulated."""
    from ..scenario.checks import check_event, check_events, fault_targets, simulated_months
    if months is not None and months > scn.horizon.months:
        raise UserError(f"{months} months is longer than the scenario's horizon", field="--months",
                        allowed=f"1 .. {scn.horizon.months}")
    n = simulated_months(scn, months)
    if what_if:
        targets = fault_targets(scn)
        for text in what_if:
            ev = what_if_event(text)
            check_event(scn, ev.target_kind, ev.target_name, ev.day, n, "--what-if", text, targets)
    if scn.faults.events:
        check_events(scn, n)
    traffic_shapes(scn)
    return n


def traffic_shapes(scn) -> None:
    """Each service's simulated day can be drawn: without traffic.daily_peak_to_mean, the day's peak
    follows the service's peak_factor, and the cosine day around the mean reaches at most twice it
    (a larger peak would need negative traffic in the trough)."""
    from ..datafile import field_path
    from ..sim.demand import daily_peak_for, weekday_level
    shape = scn.simulation.traffic
    for i, svc in enumerate(scn.workloads.services):
        peak = daily_peak_for(shape, svc.peak_factor)
        if peak > 2.0:
            loc = ("workloads", "services", i, "peak_factor")
            raise UserError(f"{svc.peak_factor:g} needs a simulated daily peak of {peak:.2f}x the mean; the simulated "
                            "day (a cosine around the mean) reaches at most 2x", where=scn.where(loc),
                            field=field_path(loc), allowed=f"up to {2 * weekday_level(shape):.2f} to simulate, or set "
                            "simulation.traffic.daily_peak_to_mean (1 to 2)")

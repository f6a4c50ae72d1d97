"""A fuzz campaign over polyfleet's inputs, larger than the test suite's: structure-aware mutations of
a scenario touching every section (tests/fuzzing.py), malformed files, and wrong values for every
command-line option. Prints inputs tried, valid, rejected, tracebacks (must be 0) and hangs (must be 0).

    python benchmarks/fuzz_inputs.py                      # 2,000 scenarios, 50 values per option
    python benchmarks/fuzz_inputs.py --scenarios 200 --per-option 10 --seed 3

A traceback is any exception other than a one-line UserError naming where (a scenario), or any exit
other than 2 with one error line naming the option (an option value). A hang is an input that takes
more than --hang-seconds (default 60; each takes well under a second).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

import fuzzing  # noqa: E402
from polyfleet.errors import UserError  # noqa: E402


FAILURES = HERE / "out" / "fuzz-failures"     # failing inputs, one file each (benchmarks/out is git-ignored)


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def guarded(fn, hang_s: float):
    """fn() -> outcome; 'traceback: ...' for any escaping exception, 'hang' past hang_s seconds."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, hang_s)
    try:
        return fn()
    except Hang:
        return "hang"
    except Exception as exc:  # noqa: BLE001 - counted and shown
        return f"traceback: {type(exc).__name__}: {str(exc)[:300]} @ {traceback.extract_tb(exc.__traceback__)[-1]}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def campaign(strategy, check, n: int, rng_seed: int, hang_s: float, keep: list | None = None,
             keep_max: int = 0) -> Counter:
    """Run `check` on `n` examples drawn from `strategy`; count outcomes (no shrinking, no database)."""
    counts: Counter = Counter()

    @seed(rng_seed)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(x=strategy)
    def body(x):
        outcome = guarded(lambda: check(x), hang_s)
        if outcome == "valid" and keep is not None and len(keep) < keep_max:
            keep.append(x)
        counts[outcome if not outcome.startswith("traceback") else "traceback"] += 1
        if outcome.startswith("traceback") or outcome == "hang":
            FAILURES.mkdir(parents=True, exist_ok=True)
            path = FAILURES / f"{rng_seed}-{sum(counts.values())}.txt"
            path.write_text(str(x), encoding="utf-8")
            counts[f"example: {outcome} <- {path}"] += 1

    body()
    return counts


def solve_and_simulate(text: str) -> str:
    """A scenario the loader accepted, through the later stages: a plan (10 s limit), and for a
    feasible one a month of simulation in hourly steps with sampled faults."""
    import numpy as np

    from polyfleet.datafile import DataFile
    from polyfleet.plan import PlanOptions, SolveOptions, plan
    from polyfleet.plan.from_scenario import inputs_from_scenario
    from polyfleet.scenario.load import scenario_from_doc
    from polyfleet.sim.build import setup_from_plan
    from polyfleet.sim.faults import MONTH, sample_timeline
    from polyfleet.sim.fleet import simulate
    scn = scenario_from_doc(DataFile(text, "fuzz.yaml"))
    result = plan(inputs_from_scenario(scn), PlanOptions(solve=SolveOptions(mip_rel_gap=0.05, time_limit=10.0)))
    if not result.feasible:
        return "infeasible"
    opts = scn.simulation.model_copy(update={"months": 1, "step_minutes": 60.0})
    setup = setup_from_plan(scn, result, "plan", options=opts)
    rng = np.random.default_rng(0)
    events = sample_timeline(setup.faults, setup.universe, MONTH, rng)
    simulate(setup, events, rng)
    return "simulated"


def raw_files(hang_s: float) -> Counter:
    counts: Counter = Counter()
    from polyfleet.scenario import load_scenario
    with tempfile.TemporaryDirectory() as d:
        for name, data in fuzzing.RAW_CASES.items():
            p = Path(d) / "raw.yaml"
            p.write_bytes(data)

            def check(p=p):
                try:
                    load_scenario(p)
                    return "valid"
                except UserError as err:
                    fuzzing.check_user_error(err, str(p))
                    return "rejected"
            outcome = guarded(check, hang_s)
            counts[outcome if not outcome.startswith("traceback") else "traceback"] += 1
            if outcome.startswith("traceback") or outcome == "hang":
                counts[f"example: {name}: {outcome}"] += 1
    return counts


def options(per_option: int, rng_seed: int, hang_s: float) -> Counter:
    from test_fuzz_cli import run
    with tempfile.TemporaryDirectory() as d:
        scenario = str(Path(d) / "fuzz.yaml")
        Path(scenario).write_text(fuzzing.to_yaml(fuzzing.BASE), encoding="utf-8")
        total: Counter = Counter()
        for command, option, values, extra in fuzzing.BAD_OPTIONS:
            def check(value, command=command, option=option, extra=extra):
                code, _, err = run(fuzzing.cli_args(command, option, value, extra, scenario))
                lines = fuzzing.error_lines(err)
                if code == 2 and len(lines) == 1 and option in lines[0] and "internal error" not in err:
                    return "rejected"
                raise AssertionError(f"{command} {option}={value}: exit {code}: {err.strip()[:200]}")
            total += campaign(values, check, per_option, rng_seed, hang_s)
    return total


def tried(counts: Counter) -> int:
    return sum(v for k, v in counts.items() if not k.startswith("example"))


def show(label: str, counts: Counter, seconds: float) -> None:
    print(f"{label}: {tried(counts):,} tried: {counts['valid']:,} valid, {counts['rejected']:,} rejected with a one-line "
          f"error naming where, {counts['traceback']:,} tracebacks, {counts['hang']:,} hangs ({seconds:,.0f} CPU-s)")
    for k in sorted(k for k in counts if k.startswith("example"))[:10]:
        print(f"   {k}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=int, default=2000)
    ap.add_argument("--per-option", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hang-seconds", type=float, default=60.0)
    ap.add_argument("--solve", type=int, default=40, help="accepted scenarios to plan and simulate (slow: seconds each)")
    a = ap.parse_args()
    os.environ.setdefault("COLUMNS", "200")
    t = time.process_time()
    per = max(1, a.scenarios // (len(fuzzing.SECTIONS) + 1))
    counts: Counter = Counter()
    valid: list[str] = []
    for i, section in enumerate((*fuzzing.SECTIONS, None)):
        counts += campaign(fuzzing.mutated_scenario(section, 4).map(fuzzing.to_yaml), fuzzing.check_scenario_text,
                           per, a.seed + i, a.hang_seconds, valid, (len(valid) + a.solve // (len(fuzzing.SECTIONS) + 1)
                                                                    + 1))
    show("scenario files (mutated, every section)", counts, time.process_time() - t)
    t = time.process_time()
    solved: Counter = Counter()
    for i, text in enumerate(valid[:a.solve]):
        outcome = guarded(lambda text=text: solve_and_simulate(text), a.hang_seconds * 5)
        solved[outcome if not outcome.startswith("traceback") else "traceback"] += 1
        if outcome.startswith("traceback") or outcome == "hang":
            FAILURES.mkdir(parents=True, exist_ok=True)
            (FAILURES / f"solve-{i}.txt").write_text(text, encoding="utf-8")
            solved[f"example: {outcome} <- {FAILURES / f'solve-{i}.txt'}"] += 1
    print(f"accepted scenarios planned and simulated: {tried(solved):,} tried: {solved['simulated']:,} simulated a "
          f"month, {solved['infeasible']:,} infeasible (no plan), {solved['traceback']:,} tracebacks, "
          f"{solved['hang']:,} hangs ({time.process_time() - t:,.0f} CPU-s)")
    for k in sorted(k for k in solved if k.startswith("example"))[:10]:
        print(f"   {k}")
    t = time.process_time()
    raw = raw_files(a.hang_seconds)
    show("malformed files", raw, time.process_time() - t)
    t = time.process_time()
    opts = options(a.per_option, a.seed, a.hang_seconds)
    show(f"command-line option values ({len(fuzzing.BAD_OPTIONS)} options)", opts, time.process_time() - t)
    bad = sum(c["traceback"] + c["hang"] for c in (counts, raw, opts, solved))
    print(f"total: {tried(counts) + tried(raw) + tried(opts):,} inputs (and {tried(solved)} of them solved); "
          f"tracebacks + hangs: {bad}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

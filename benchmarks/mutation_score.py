"""Mutation score of the core packages (plan, place, sim, perf) on a seeded random sample of mutants.

mutmut 3 generates about 20,000 mutants of the four packages (configured in pyproject.toml's [tool.mutmut]);
running them all takes days on two cores, so this draws a seeded sample per package, runs mutmut on it and
prints, per package: sampled, killed, survived, timeout, no tests, and the score (killed + timeout over the
mutants judged) with a 95% Wilson interval. Mutants listed in benchmarks/mutation_equivalent.txt (no change
of behaviour, each with its reason) are left out of the score and counted apart.

The tests run are the fast unit tests named in pyproject.toml: a mutant killed by that subset is killed by
the whole suite, so the score is a lower bound.

mutmut conflicts with the project's click pin (SkyPilot), so it lives in a venv of its own:

    python3 -m venv /work/mut-venv
    /work/mut-venv/bin/pip install -e ".[ray]" pytest hypothesis jsonschema common-expression-language \\
        kubernetes mutmut
    /work/mut-venv/bin/python benchmarks/mutation_score.py --per-package 60 --seed 2026

Re-running resumes: mutants already judged are read back from mutants/ and not run again, unless
--rerun-survivors (after adding tests) or --rerun-all. --report only reads what is there.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("plan", "place", "sim", "perf")
EQUIVALENT = Path(__file__).resolve().parent / "mutation_equivalent.txt"
NO_MATCH = "polyfleet.no_such_function__mutmut_0"  # a name that matches nothing: generate and collect, run none

KILLED, SURVIVED, TIMEOUT, NO_TESTS = "killed", "survived", "timeout", "no tests"
CRASHED, NOT_RUN = "crashed", "not run"
STATUS = {1: KILLED, 3: KILLED, 0: SURVIVED, 5: NO_TESTS, 33: NO_TESTS,
          -24: TIMEOUT, 24: TIMEOUT, 36: TIMEOUT, 152: TIMEOUT, 255: TIMEOUT, -9: CRASHED, -11: CRASHED, None: NOT_RUN}


@dataclass(frozen=True)
class Tally:
    """One package's sample, judged."""

    package: str
    sampled: int
    counts: dict[str, int]
    equivalent: int

    @property
    def judged(self) -> int:
        return sum(v for k, v in self.counts.items() if k != NOT_RUN)

    @property
    def detected(self) -> int:
        return self.counts.get(KILLED, 0) + self.counts.get(TIMEOUT, 0) + self.counts.get(CRASHED, 0)


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval for k successes in n trials (sound near 0 and 1, unlike the normal one)."""
    if n == 0:
        return math.nan, math.nan
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def meta_files() -> list[Path]:
    return sorted((ROOT / "mutants" / "src" / "polyfleet").glob("*/**/*.py.meta"))


def all_results() -> dict[str, int | None]:
    """Every generated mutant's exit code (None: not run yet), from mutmut's .meta files."""
    out: dict[str, int | None] = {}
    for f in meta_files():
        for attempt in range(20):          # mutmut may be rewriting the file while a report reads it
            try:
                out.update(json.loads(f.read_text(encoding="utf-8"))["exit_code_by_key"])
                break
            except json.JSONDecodeError:
                if attempt == 19:
                    raise
                time.sleep(0.1)
    return out


def package_of(name: str) -> str:
    return name.split(".")[1]


def draw_sample(names: list[str], per_package: int, seed: int) -> dict[str, list[str]]:
    """A seeded sample per package, drawn from the sorted names so that it depends on the code only."""
    sample = {}
    for pkg in PACKAGES:
        pool = sorted(n for n in names if package_of(n) == pkg)
        sample[pkg] = sorted(random.Random(f"{seed}:{pkg}").sample(pool, min(per_package, len(pool))))
    return sample


def read_equivalent() -> dict[str, str]:
    """name -> reason, from 'name  # reason' lines."""
    if not EQUIVALENT.exists():
        return {}
    out = {}
    for line in EQUIVALENT.read_text(encoding="utf-8").splitlines():
        name, _, reason = line.partition("#")
        if name.strip():
            out[name.strip()] = reason.strip()
    return out


def mutmut(mutmut_bin: str, names: list[str], max_children: int, check: bool = True) -> None:
    """Run mutmut on `names`. Hypothesis's example database under mutants/ is removed first: it keeps the
    examples that failed under earlier mutants and replays them in the clean run, so one found on clean
    code (a real bug) would stop every later run at 'Failed to run clean test'."""
    shutil.rmtree(ROOT / "mutants" / ".hypothesis", ignore_errors=True)
    cmd = [mutmut_bin, "run", *names, "--max-children", str(max_children)]
    env = {**os.environ, "POLYFLEET_HYPOTHESIS": "mutation"}       # tests/conftest.py: fixed examples, no database
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    if check and proc.returncode != 0:
        sys.exit(f"mutmut failed (exit {proc.returncode}); run `{' '.join(cmd[:2])} NAME` by hand to see why\n"
                 f"{proc.stderr[-3000:]}")


def ensure_generated(mutmut_bin: str, max_children: int) -> None:
    """Generate the mutants and collect which tests reach which function, running no mutant (mutmut
    stops with 'nothing matches' after both steps)."""
    if not meta_files():
        mutmut(mutmut_bin, [NO_MATCH], max_children, check=False)
    if not meta_files():
        sys.exit("mutmut generated no mutants: run it by hand to see why")


def widen_to_test_files() -> None:
    """mutmut ties a function to the tests during which it ran; a module-scoped fixture runs once, in the
    first test that asks for it, so the other tests of that file that read its result are never run
    against a mutant of what the fixture calls. Tie each function to every test of the files that
    reach it (idempotent; more tests can only kill more mutants)."""
    path = ROOT / "mutants" / "mutmut-stats.json"
    if not path.exists():
        return
    stats = json.loads(path.read_text(encoding="utf-8"))
    by_file: dict[str, set[str]] = {}
    for test in stats["duration_by_test"]:
        by_file.setdefault(test.split("::")[0], set()).add(test)
    for func, tests in stats["tests_by_mangled_function_name"].items():
        files = {t.split("::")[0] for t in tests}
        stats["tests_by_mangled_function_name"][func] = sorted(set(tests).union(*(by_file.get(f, ()) for f in files)))
    path.write_text(json.dumps(stats, indent=4), encoding="utf-8")


def tally(sample: dict[str, list[str]], results: dict[str, int | None], equivalent: dict[str, str]) -> list[Tally]:
    rows = []
    for pkg, names in sample.items():
        counts: dict[str, int] = {}
        for n in names:
            if n in equivalent:
                continue
            status = STATUS.get(results.get(n), CRASHED)
            counts[status] = counts.get(status, 0) + 1
        rows.append(Tally(pkg, len(names), counts, sum(n in equivalent for n in names)))
    return rows


def print_table(rows: list[Tally], seed: int, per_package: int) -> None:
    print(f"mutation score, seeded sample (seed {seed}, {per_package} per package); timeouts count as killed")
    head = f"{'package':8} {'sampled':>7} {'equiv':>5} {'killed':>6} {'survived':>8} {'timeout':>7} {'crashed':>7} " \
           f"{'no tests':>8} {'not run':>7} {'score':>6}  95% Wilson"
    print(head)
    for r in rows:
        c = r.counts
        lo, hi = wilson(r.detected, r.judged)
        score = f"{r.detected / r.judged:6.1%}" if r.judged else f"{'n/a':>6}"
        print(f"{r.package:8} {r.sampled:7d} {r.equivalent:5d} {c.get(KILLED, 0):6d} {c.get(SURVIVED, 0):8d} "
              f"{c.get(TIMEOUT, 0):7d} {c.get(CRASHED, 0):7d} {c.get(NO_TESTS, 0):8d} {c.get(NOT_RUN, 0):7d} "
              f"{score}  [{lo:.1%}, {hi:.1%}]")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-package", type=int, default=60, help="mutants sampled per package (default 60)")
    ap.add_argument("--seed", type=int, default=2026, help="sample seed (default 2026)")
    ap.add_argument("--max-children", type=int, default=2, help="mutmut workers (default 2)")
    ap.add_argument("--mutmut", default=str(Path(sys.executable).with_name("mutmut")), help="mutmut executable")
    ap.add_argument("--report", action="store_true", help="only read the results already in mutants/")
    ap.add_argument("--rerun-survivors", action="store_true",
                    help="run the sample's survivors (and those no test reached) again")
    ap.add_argument("--rerun-all", action="store_true", help="run the whole sample again")
    ap.add_argument("--list", choices=[SURVIVED, TIMEOUT, NO_TESTS, CRASHED, NOT_RUN], help="print those names")
    args = ap.parse_args(argv)
    if args.per_package < 1:
        ap.error("--per-package must be >= 1")
    if not args.report:
        ensure_generated(args.mutmut, args.max_children)
    results = all_results()
    if not results:
        sys.exit("no mutants in mutants/: run without --report first")
    sample = draw_sample(list(results), args.per_package, args.seed)
    equivalent = read_equivalent()
    if not args.report:
        again = (SURVIVED, NO_TESTS) if args.rerun_survivors else ()
        wanted = [n for names in sample.values() for n in names if n not in equivalent and (
            args.rerun_all or results[n] is None or STATUS.get(results[n]) in again)]
        if wanted:
            widen_to_test_files()
            mutmut(args.mutmut, wanted, args.max_children)
        results = all_results()
    rows = tally(sample, results, equivalent)
    if args.list:
        for names in sample.values():
            for n in names:
                if n not in equivalent and STATUS.get(results.get(n), CRASHED) == args.list:
                    print(n)
        return 0
    print_table(rows, args.seed, args.per_package)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

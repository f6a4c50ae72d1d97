"""Shared fixtures: the built-in catalog and models, and a CLI runner that goes through main()."""

from __future__ import annotations

import os
import sys

import pytest
from hypothesis import settings

# POLYFLEET_HYPOTHESIS=mutation (set by benchmarks/mutation_score.py): the same examples on every run and no
# example database, so a mutant's verdict does not depend on what an earlier run happened to draw or save.
settings.register_profile("mutation", derandomize=True, database=None)
# By default the suite draws the same examples on every run, so a red run is reproducible and a green
# one stays green; POLYFLEET_HYPOTHESIS=explore draws fresh examples (with the example database) to
# look for new failures, as the mutation runs and bug hunts do.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore")
settings.load_profile(os.environ.get("POLYFLEET_HYPOTHESIS", "repeatable"))

from polyfleet.perf import Context


@pytest.fixture(autouse=True)
def _keep_traceback_limit():
    """SkyPilot's validators set sys.tracebacklimit = 0 and leave it there when they raise (its
    ux_utils context manager has no finally); restore it so one test cannot hide another's traceback."""
    had = hasattr(sys, "tracebacklimit")
    before = getattr(sys, "tracebacklimit", None)
    yield
    if had:
        sys.tracebacklimit = before
    elif hasattr(sys, "tracebacklimit"):
        del sys.tracebacklimit


@pytest.fixture(scope="session")
def ctx() -> Context:
    return Context()


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """Run `polyfleet ARGS...` through the real entry point; returns (exit code, stdout, stderr)."""
    from polyfleet.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["polyfleet", *args])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out = capsys.readouterr()
        return code, out.out, out.err
    return run

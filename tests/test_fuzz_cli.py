"""Fuzzing the command-line options: for each option, values that are wrong (out of range, NaN,
infinity, a name the scenario lacks, a combination that does nothing). Property: exit code 2 and one
error line naming the option, before any work; never a traceback or an internal error."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import sys

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fuzzing import BAD_OPTIONS, BASE, cli_args, error_lines, to_yaml

# no shrinking: a value wrongly accepted starts real work (a plan solve), and shrinking would repeat it
FUZZ = settings(max_examples=15, deadline=dt.timedelta(seconds=30), derandomize=True,
                phases=[Phase.explicit, Phase.reuse, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def run(args: list[str]) -> tuple[int, str, str]:
    """`polyfleet ARGS` through the real entry point, in this process."""
    from polyfleet.cli import main
    out, err = io.StringIO(), io.StringIO()
    old = sys.argv
    sys.argv = ["polyfleet", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = old
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    p = tmp_path_factory.mktemp("fuzz-cli") / "fuzz.yaml"
    p.write_text(to_yaml(BASE), encoding="utf-8")
    return str(p)


def assert_rejected(args, option):
    code, out, err = run(args)
    lines = error_lines(err)
    assert code == 2, (args, code, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), (args, err)
    assert option in lines[0], (args, lines[0])
    assert "internal error" not in err and "Traceback" not in err


@pytest.mark.parametrize("case", range(len(BAD_OPTIONS)),
                         ids=[f"{c} {o}" for c, o, _, _ in BAD_OPTIONS])
@FUZZ
@given(data=st.data())
def test_bad_option_value_is_one_line_naming_the_option(scenario, case, data):
    command, option, values, extra = BAD_OPTIONS[case]
    value = data.draw(values)
    assert_rejected(cli_args(command, option, value, extra, scenario), option)


def test_out_under_a_file_is_refused_before_the_solve(scenario, tmp_path):
    f = tmp_path / "a-file"
    f.write_text("mine", encoding="utf-8")
    assert_rejected(["plan", scenario, "--out", str(f / "sub")], "--out")
    assert_rejected(["plan", scenario, "--out", str(f)], "--out")
    assert f.read_text(encoding="utf-8") == "mine"


def test_out_where_nothing_can_be_written_is_refused(scenario, tmp_path):
    """A directory we may not write: read-only by mode, or (as root, whom modes do not stop) /proc."""
    if os.geteuid() == 0:
        target = "/proc/polyfleet-out"
    else:
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        target = str(ro / "out")
    assert_rejected(["simulate", scenario, "--out", target], "--out")


def test_out_holding_files_polyfleet_did_not_write_is_refused_before_any_work(scenario, tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / "report.html").write_text("the user's", encoding="utf-8")
    assert_rejected(["risk", scenario, "--runs", "2", "--out", str(out)], "--out")
    assert (out / "report.html").read_text(encoding="utf-8") == "the user's"
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]


def test_missing_catalog_and_models_files_are_named(scenario, tmp_path):
    missing = str(tmp_path / "missing.yaml")
    for option in ("--catalog", "--models"):
        code, _, err = run([option, missing, "scenario", scenario])
        assert code == 2 and f"{missing}: {option}: file not found" in err
        code, _, err = run([option, str(tmp_path), "catalog"])
        assert code == 2 and option in err and "directory" in err

"""Errors and exit codes: bad input is one line and exit 2 naming file:line and field, an infeasible
plan exits 3, a bug of ours exits 1 and says so (traceback behind --debug), Ctrl-C exits 130. Every
input the 2026-11-30 review found escaping validation (tests/data/review-fuzz/) is rejected by
`polyfleet scenario` and by `polyfleet plan` with the same line."""

from __future__ import annotations

from pathlib import Path

import pytest

from polyfleet.errors import (EXIT_INFEASIBLE, EXIT_INTERNAL, EXIT_USER, InfeasibleError, UnknownNameError, UserError,
                              closest_names, listing)

FUZZ = Path(__file__).parent / "data" / "review-fuzz"

# file -> (line, field) the error must name
REVIEW_FILES = {
    "cat-region-key.yaml": (9, "catalog.offerings[0].regions.us-east-1x"),
    "cat-region-scalar.yaml": (8, "catalog.offerings[0].regions.us-east-1"),
    "cuts-1e6.yaml": (6, "faults.supply_cuts.rate_per_vendor_year"),
    "cuts-inf.yaml": (6, "faults.supply_cuts.rate_per_vendor_year"),
    "deep-min.yaml": (1, None),
    "dtype.yaml": (5, "workloads.services[0].dtype"),
    "dup.yaml": (6, "workloads"),
    "events.yaml": (6, "faults.events[0].target"),
    "figure-note.yaml": (9, "catalog.offerings[0].regions.us-east-1.on_demand.note"),
    "fleet-unknown.yaml": (6, "fleet[0].offering"),
    "growth-inf.yaml": (5, "workloads.services[0].tokens_per_s.monthly_growth"),
    "hours-inf.yaml": (1, "horizon.hours_per_month"),
    "newgen.yaml": (6, "faults.new_generations[0].accelerator"),
    "noise.yaml": (6, "simulation.traffic.noise_sigma"),
    "peak1e9.yaml": (6, "simulation.traffic.daily_peak_to_mean"),
    "porting-key.yaml": (6, "money.porting_usd.tpux"),
    "price-neg.yaml": (9, "catalog.offerings[0].regions.us-east-1.on_demand"),
    "pue-key.yaml": (6, "power.pue.aws/us-east-1x"),
    "pue-nan.yaml": (6, "power.pue"),
    "rate-inf.yaml": (6, "rates[0].tokens_per_chip_hour"),
    "sel-scalar.yaml": (2, "offerings.include[0].provider"),
    "share-key.yaml": (6, "tenants[0].share.apix"),
    "share-nan.yaml": (6, "tenants[0].share"),
    "spot-1e6.yaml": (6, "faults.spot_preemptions.events_per_month"),
    "tps-inf.yaml": (5, "workloads.services[0].tokens_per_s"),
    "watts0.yaml": (6, "power.watts_per_chip.h100"),
}
# CSV given with --catalog -> (line, column)
REVIEW_CSVS = {"latin1.csv": (2, None), "nan-price.csv": (2, "on_demand"), "neg-price.csv": (2, "on_demand"),
               "short-row.csv": (2, None)}


def one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("progress: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and "internal error" not in err
    return lines[0]


def test_every_review_file_has_a_case():
    assert set(REVIEW_FILES) | set(REVIEW_CSVS) | {"base.yaml"} == {p.name for p in FUZZ.iterdir()}


@pytest.mark.parametrize("name", sorted(REVIEW_FILES))
def test_review_file_is_rejected_by_scenario_as_by_plan(run_cli, name):
    line, field = REVIEW_FILES[name]
    path = FUZZ / name
    code, out, err = run_cli("scenario", str(path))
    msg = one_error_line(err)
    assert code == EXIT_USER and out == ""
    assert f"{path}:{line}: " in msg
    if field:
        assert f": {field}: " in msg
    code, _, err = run_cli("plan", str(path), "-q")
    assert code == EXIT_USER and one_error_line(err) == msg


@pytest.mark.parametrize("name", sorted(REVIEW_CSVS))
def test_review_csv_is_blamed_on_its_own_line(run_cli, name):
    line, column = REVIEW_CSVS[name]
    code, _, err = run_cli("--catalog", str(FUZZ / name), "scenario", str(FUZZ / "base.yaml"))
    msg = one_error_line(err)
    assert code == EXIT_USER and f"{name}:{line}: " in msg and "base.yaml" not in msg
    if column:
        assert f": {column}: " in msg


def test_review_base_file_is_valid(run_cli):
    code, out, err = run_cli("scenario", str(FUZZ / "base.yaml"), "--format", "json")
    assert code == 0 and '"offerings": 1' in out


def test_duplicate_key_names_both_lines(run_cli):
    _, _, err = run_cli("scenario", str(FUZZ / "dup.yaml"))
    assert "lines 3 and 6" in err


def test_a_bound_says_why(run_cli):
    _, _, err = run_cli("scenario", str(FUZZ / "peak1e9.yaml"))
    assert "less than or equal to 2" in err and "trough" in err


# ---- exit codes through the real entry point ----------------------------------------------------

def test_internal_error_is_exit_1_and_says_bug(run_cli, monkeypatch):
    """An exception that is not ours on purpose (here a KeyError planted in the catalog command) is a
    bug: exit 1, one line that says so, no traceback unless --debug."""
    def broken(self):
        raise KeyError("planted")
    monkeypatch.setattr("polyfleet.cli.state.State.context", broken)
    code, out, err = run_cli("catalog")
    assert code == EXIT_INTERNAL
    line = one_error_line(err.replace("internal error", "INTERNAL"))   # one line, checked below
    assert "INTERNAL (this is a bug): KeyError: 'planted'; rerun with --debug for the traceback" in line
    code, _, err = run_cli("--debug", "catalog")
    assert code == EXIT_INTERNAL and "Traceback (most recent call last)" in err and "--debug for" not in err


def test_a_pydantic_error_inside_the_engine_is_a_bug_not_bad_input(run_cli, monkeypatch):
    from pydantic import BaseModel, ValidationError

    class Inner(BaseModel):
        x: int

    def engine(*a, **k):
        Inner.model_validate({"x": "not a number"})
    monkeypatch.setattr("polyfleet.cli.state.State.context", engine)
    code, _, err = run_cli("models")
    assert code == EXIT_INTERNAL and "this is a bug" in err and "ValidationError" in err
    assert len(err.strip().splitlines()) == 1
    assert issubclass(ValidationError, ValueError)        # why a plain `except ValueError` would have hidden it


def test_infeasible_error_is_exit_3_with_its_diagnosis(run_cli, monkeypatch):
    def no_plan(*a, **k):
        raise InfeasibleError("the scenario has no plan to simulate", ["power limit 'site' binds in 2026-03"],
                              where="s.yaml")
    monkeypatch.setattr("polyfleet.cli.state.State.context", no_plan)
    code, _, err = run_cli("models")
    assert code == EXIT_INFEASIBLE
    assert one_error_line(err) == ("error: s.yaml: the scenario has no plan to simulate: "
                                   "power limit 'site' binds in 2026-03")


def test_ctrl_c_prints_interrupted_and_exits_130(run_cli, monkeypatch):
    def interrupt(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr("polyfleet.cli.state.State.context", interrupt)
    code, _, err = run_cli("models")
    assert code == 130 and err.strip() == "interrupted"


def test_usage_errors_are_one_line_exit_2(run_cli):
    for args, needle in ((["plan", "--no-such-option"], "No such option"), (["perf", "inference"], "Missing option"),
                         (["risk", "--runs", "many"], "Invalid value for '--runs'")):
        code, _, err = run_cli(*args)
        assert code == EXIT_USER and needle in one_error_line(err) and "--help" in err


def test_output_that_cannot_be_written_still_prints_the_result(run_cli, monkeypatch, tmp_path):
    """The disk fills after the work: the result is on stdout, nothing half-written is left, exit non-zero."""
    import polyfleet.cli.common as common

    def full(self, *a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(common.Path, "write_text", full)
    out = tmp_path / "out"
    code, stdout, err = run_cli("compare", "--model", "llama-3.1-8b", "--inference", "--format", "json",
                                "--out", str(out))
    assert code == EXIT_USER and '"accelerator"' in stdout
    assert "No space left on device" in one_error_line(err) and "printed, not saved" in err
    assert not out.exists() or not any(out.iterdir())


# ---- messages ----------------------------------------------------------------------------------

def test_user_error_is_always_one_line():
    err = UserError("first\n  second\nthird", where="f.yaml:3", field="a.b", allowed="x, y")
    assert str(err) == "f.yaml:3: a.b: first; second; third (allowed: x, y)"


def test_suggestions_find_names_by_their_words_and_numbers(ctx):
    with pytest.raises(UnknownNameError) as err:
        ctx.models.get("llama-70b")
    assert "llama-3.1-70b" in err.value.suggestions and "llama-3.3-70b" in err.value.suggestions
    assert all("70b" in s for s in err.value.suggestions)        # never the 8b or 405b
    assert closest_names("405b", ["llama-3.1-405b", "llama-3.1-70b", "llama-3.1-8b"]) == ["llama-3.1-405b"]
    assert closest_names("nvida", ["google", "aws", "nvidia", "amd"]) == ["nvidia"]


def test_suggestions_name_canonical_ids_once_with_the_alias_that_matched(ctx):
    with pytest.raises(UnknownNameError) as err:
        ctx.catalog.accelerator("trainum2")
    assert err.value.suggestions[0] == "trn2" and "trn2 (trainium2)" in str(err.value)
    assert len(set(err.value.suggestions)) == len(err.value.suggestions)


def test_a_cut_list_of_names_says_how_many_more():
    names = [f"name-{i:02d}" for i in range(52)]
    assert listing(names).endswith("name-29 and 22 more")
    assert listing(names[:3]) == "name-00, name-01, name-02"
    err = UnknownNameError("thing", "zzzz", names)
    assert "and 22 more" in str(err) and not err.suggestions


def test_ctrl_c_on_a_running_command(tmp_path):
    """A real SIGINT while `risk` works (after its first progress line; 200 runs take about a minute):
    "interrupted", exit 130, no traceback, nothing written to --out."""
    import signal
    import subprocess
    import sys
    import threading
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", "from polyfleet.cli import main; main()", "risk",
                             "frontier-2026", "--runs", "200", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # a shell's background jobs inherit SIGINT ignored: give the child the default
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    first = threading.Event()
    lines: list[str] = []

    def read():
        for line in proc.stderr:
            lines.append(line)
            first.set()
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert first.wait(120), "no progress line within 2 minutes"
    proc.send_signal(signal.SIGINT)
    code = proc.wait(300)
    reader.join(10)
    err = "".join(lines)
    assert code == 130 and err.strip().endswith("interrupted") and "Traceback" not in err, err
    assert not out.exists()


@pytest.mark.parametrize("fmt", ["csv", "table"])
def test_a_reader_that_closes_the_output_early_ends_it_silently_with_141(fmt):
    """`polyfleet ... | head -1`: the reader goes after one line of a 100-360 kB listing, so the next
    writes meet a closed pipe (click's echo for csv, rich's console for the table). That is not a bug
    of ours: exit 141 (128 + SIGPIPE, as `cat` ends), nothing on stderr; it had been a silent exit 1,
    the code that says "bug"."""
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-c", "from polyfleet.cli import main; main()", "perf", "calibration",
                             "--format", fmt], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()                   # the reader leaves, as head does
    err = proc.stderr.read().decode()
    code = proc.wait(120)
    assert first.strip(), "the command printed nothing before the pipe closed"
    assert code == 141 and err == "", (code, err)


def test_scenario_dtypes_are_the_ones_the_perf_engine_models():
    """An independent oracle: the dtypes a scenario may name are exactly those the perf engine has a
    matmul path for (weights), a byte size for (KV cache), and trains in."""
    import typing

    from polyfleet.perf.arrays import COMPUTE_FALLBACK
    from polyfleet.scenario.sections import KvDtype, TrainingDtype, WeightDtype
    from polyfleet.workloads.models import BYTES
    assert set(typing.get_args(WeightDtype)) == set(COMPUTE_FALLBACK)
    assert set(typing.get_args(KvDtype)) == set(BYTES)
    assert set(typing.get_args(TrainingDtype)) == {"bf16", "fp8"}


def test_unknown_model_in_a_scenario_suggests_by_words_and_numbers(tmp_path):
    from polyfleet.scenario import load_scenario
    p = tmp_path / "s.yaml"
    p.write_text("workloads:\n  services:\n    - {id: a, model: llama-70b, tokens_per_s: 10}\n", encoding="utf-8")
    with pytest.raises(UnknownNameError) as err:
        load_scenario(p)
    assert err.value.where.endswith("s.yaml:3") and err.value.field == "workloads.services[0].model"
    assert "llama-3.1-70b" in err.value.suggestions


def test_control_characters_are_bad_yaml_not_a_bug(run_cli, tmp_path):
    """PyYAML's reader refuses control characters while the loader is built, before parsing starts;
    that is bad input (found by the service's schemathesis run), one line naming the file."""
    from polyfleet.datafile import DataFile
    with pytest.raises(UserError, match="not valid YAML: unacceptable character #x001f"):
        DataFile("\x1fname: x\n", "upload.yaml")
    f = tmp_path / "ctl.yaml"
    f.write_text("name: a\x1fb\nworkloads: {}\n")
    code, _, err = run_cli("scenario", str(f))
    assert code == 2 and err.count("\n") == 1 and f"{f}" in err and "not valid YAML" in err

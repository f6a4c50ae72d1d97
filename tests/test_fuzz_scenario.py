"""Fuzzing scenario files: valid YAML of the scenario's shape with wrong types, ranges, names, sizes,
NaN/infinity and deep nesting, section by section. Property: loading gives a Scenario that the later
stages take, or a one-line UserError naming where; no other exception, no hang (bounded examples,
a deadline far above the fraction of a second each takes)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzzing import BASE, RAW_CASES, SECTIONS, check_scenario_text, check_user_error, mutated_scenario, nest, to_yaml
from polyfleet.errors import UserError
from polyfleet.scenario import load_scenario

FUZZ = settings(max_examples=25, deadline=dt.timedelta(seconds=30), derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_the_base_scenario_is_valid():
    """The fuzzer mutates a valid scenario: otherwise every mutation would be rejected for the same reason."""
    assert check_scenario_text(to_yaml(BASE)) == "valid"


@pytest.mark.parametrize("section", SECTIONS)
@FUZZ
@given(data=st.data())
def test_mutated_section_loads_or_is_rejected_with_a_field(section, data):
    doc = data.draw(mutated_scenario(section))
    check_scenario_text(to_yaml(doc))


@FUZZ
@given(doc=mutated_scenario(max_mutations=5))
def test_mutations_anywhere_load_or_are_rejected_with_a_field(doc):
    check_scenario_text(to_yaml(doc))


@pytest.mark.parametrize("case", sorted(RAW_CASES))
def test_malformed_files_are_rejected_in_one_line(case, tmp_path):
    p = tmp_path / "raw.yaml"
    p.write_bytes(RAW_CASES[case])
    with pytest.raises(UserError) as err:
        load_scenario(p)
    check_user_error(err.value, str(p))


def test_depth_limit_is_a_line_not_a_recursion_error(tmp_path):
    """64 levels are allowed (scenarios use 6); 65 are refused at the line where the 65th opens."""
    from polyfleet.datafile import MAX_DEPTH, DataFile
    DataFile(to_yaml({"x": nest(MAX_DEPTH - 2)}), "ok.yaml")
    with pytest.raises(UserError, match=f"deeper than {MAX_DEPTH}"):
        DataFile(to_yaml({"x": nest(MAX_DEPTH + 5)}), "deep.yaml")


def test_a_file_over_the_size_limit_is_refused_before_parsing(tmp_path, monkeypatch):
    """The limit is checked on the file's size, so a 10 MB file costs no parse (here: a 2 KiB limit)."""
    import polyfleet.datafile as datafile
    monkeypatch.setattr(datafile, "MAX_FILE_BYTES", 2048)
    p = tmp_path / "big.yaml"
    p.write_text("workloads: {}\n" + "# padding\n" * 400, encoding="utf-8")
    with pytest.raises(UserError, match="at most") as err:
        load_scenario(p)
    assert err.value.where == str(p)

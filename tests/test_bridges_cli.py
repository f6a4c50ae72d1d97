"""The export commands end to end: files written where asked, never over files polyfleet did not write,
bad input as one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

SMALL = str(Path(__file__).parent / "data" / "scenarios" / "small-fleet.yaml")


def test_export_kueue_writes_one_applyable_file(run_cli, tmp_path):
    code, out, err = run_cli("export", "kueue", SMALL, "--out", str(tmp_path), "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    kinds = [d["kind"] for d in yaml.safe_load_all((tmp_path / "kueue.yaml").read_text())]
    assert kinds.count("ClusterQueue") == 3 and "Cohort" in kinds
    assert sum(q["nominal_chips"] for q in doc["quotas"]) == 16 * 3 + 8      # every chip of the fleet
    code, _, err = run_cli("export", "kueue", SMALL, "--out", str(tmp_path))   # ours: rewritten
    assert code == 0, err


def test_export_never_overwrites_a_file_it_did_not_write(run_cli, tmp_path):
    (tmp_path / "kueue.yaml").write_text("mine")
    code, _, err = run_cli("export", "kueue", SMALL, "--out", str(tmp_path))
    assert code == 2 and "did not write" in err
    assert (tmp_path / "kueue.yaml").read_text() == "mine"


def test_export_skypilot_and_ray(run_cli, tmp_path):
    code, out, err = run_cli("export", "skypilot", SMALL, "--out", str(tmp_path / "sky"), "--format", "csv")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "sky").glob("*.yaml")) == ["service-chat.yaml", "service-code.yaml",
                                                                         "train-finetune.yaml"]
    assert out.splitlines()[0] == "file,workload,options"
    code, out, err = run_cli("export", "ray", SMALL, "--out", str(tmp_path / "ray"), "--format", "json")
    assert code == 0, err
    doc = json.loads((tmp_path / "ray" / "ray.json").read_text())
    assert json.loads(out)["nodes"] == doc["nodes"]
    assert {n["resources"].popitem()[0] for n in doc["nodes"]} == {"TPU", "GPU", "neuron_cores"}


def test_bad_month_and_unknown_scenario_are_one_line(run_cli, tmp_path):
    code, _, err = run_cli("export", "kueue", SMALL, "--out", str(tmp_path), "--month", "2030-01")
    assert code == 2 and "--month" in err and "2026-01 .. 2026-03" in err
    code, _, err = run_cli("export", "skypilot", "no-such-scenario", "--out", str(tmp_path))
    assert code == 2 and "Traceback" not in err


def test_import_commands_have_help_with_examples(run_cli):
    for cmd in (("import", "kubernetes"), ("import", "skypilot"), ("import", "bill"), ("export", "kueue"),
                ("export", "skypilot"), ("export", "ray")):
        code, out, _ = run_cli(*cmd, "--help")
        assert code == 0 and "Examples" in out, cmd


def test_import_out_is_checked_before_the_input_is_read(run_cli, tmp_path):
    """--out of an import names one file: an existing one is refused (nothing overwritten) before the
    node list is even opened, so the error is about --out although the input does not exist."""
    taken = tmp_path / "fleet.yaml"
    taken.write_text("mine\n")
    code, _, err = run_cli("import", "kubernetes", str(tmp_path / "missing.json"), "--out", str(taken))
    assert code == 2 and "--out" in err and "already exists" in err
    assert taken.read_text() == "mine\n"
    code, _, err = run_cli("import", "kubernetes", str(tmp_path / "missing.json"), "--out", str(tmp_path))
    assert code == 2 and "is a directory" in err

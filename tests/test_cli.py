"""The command line: help with examples, formats, and bad input as one line with exit code 2."""

from __future__ import annotations

import csv
import io
import json

import pytest

COMMANDS = [[], ["catalog"], ["models"], ["perf"], ["perf", "inference"], ["perf", "training"],
            ["perf", "calibration"], ["compare"]]


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c) or "polyfleet")
def test_help_has_examples(run_cli, cmd):
    code, out, _ = run_cli(*cmd, "--help")
    assert code == 0
    if cmd != ["perf"]:
        assert "Example" in out


def test_compare_ranks_every_chip_with_prices(run_cli, ctx):
    code, out, _ = run_cli("compare", "--model", "llama-3.1-70b", "--inference", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert {r["accelerator"] for r in rows} == set(ctx.catalog.accelerators)
    priced = [r for r in rows if r["usd_per_million_output_tokens"] is not None]
    costs = [r["usd_per_million_output_tokens"] for r in priced]
    assert costs == sorted(costs) and len(priced) >= 10
    assert all(r["price_source"] for r in priced)
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))


def test_perf_inference_json_keys(run_cli):
    code, out, _ = run_cli("perf", "inference", "-m", "llama-3.1-8b", "-a", "h100", "--tpot-ms", "30",
                           "--format", "json")
    assert code == 0
    d = json.loads(out)
    for key in ("feasible", "reason", "chips", "batch", "ttft_s", "tpot_s", "output_tokens_per_s",
                "output_tokens_per_s_per_chip", "usd_per_million_output_tokens", "joules_per_output_token"):
        assert key in d
    assert d["feasible"] and d["tpot_s"] <= 0.030


def test_perf_training_json_keys(run_cli):
    code, out, _ = run_cli("perf", "training", "-m", "llama-3.1-70b", "-a", "tpu-v5p", "--chips", "1024",
                           "--format", "json")
    d = json.loads(out)
    assert code == 0
    for key in ("feasible", "reason", "tokens_per_s_per_chip", "mfu", "days", "usd", "megawatt_hours"):
        assert key in d


def test_infeasible_request_is_not_an_error(run_cli):
    code, out, _ = run_cli("perf", "inference", "-m", "llama-3.1-405b", "-a", "h100", "--chips", "1", "-f", "json")
    d = json.loads(out)
    assert code == 0 and d["feasible"] is False and "needs at least" in d["reason"]


def test_catalog_csv(run_cli):
    code, out, _ = run_cli("catalog", "--what", "offerings", "--provider", "aws", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and rows and all(r["id"].startswith("aws/") for r in rows)
    assert "source" in rows[0]


def test_calibration_table(run_cli):
    code, out, _ = run_cli("perf", "calibration")
    assert code == 0 and "points within tolerance" in out


@pytest.mark.parametrize("args,needle", [
    (["perf", "inference", "-m", "llama-3.1-700b", "-a", "h100"], "llama-3.1-70b"),
    (["perf", "inference", "-m", "llama-3.1-8b", "-a", "h1000"], "h100"),
    (["catalog", "--family", "fpga"], "tpu, trainium, gpu"),
    (["compare", "--model", "llama-3.1-8b"], "--inference or --training"),
    (["perf", "inference", "-m", "llama-3.1-8b", "-a", "h100", "--dtype", "fp7"], "bf16"),
    (["perf", "inference", "-m", "llama-3.1-8b", "-a", "h100", "--term", "weekly"], "commit_1y"),
    (["--catalog", "/nonexistent/prices.yaml", "catalog"], "not found"),
])
def test_bad_input_is_one_line_exit_2(run_cli, args, needle):
    code, out, err = run_cli(*args)
    assert code == 2
    assert "Traceback" not in err and needle in err
    assert len(err.strip().splitlines()) == 1


def test_bad_override_file_names_line(run_cli, tmp_path):
    f = tmp_path / "o.yaml"
    f.write_text("offerings:\n  - provider: aws\n    accelerator: h100\n    instance: p5\n    unit_chips: -8\n"
                 "    regions: {us-east-1: {}}\n")
    code, _, err = run_cli("--catalog", str(f), "catalog")
    assert code == 2 and "o.yaml:" in err and "unit_chips" in err

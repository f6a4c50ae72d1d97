"""The perf, compare and catalog faces: stacks, bands, held-out calibration, sizing and filters."""

from __future__ import annotations

import json


def test_compare_inference_states_its_slo_and_shows_latency(run_cli):
    code, out, err = run_cli("compare", "--model", "llama-3.1-8b", "--inference")
    assert code == 0, err
    assert "interactive SLO TTFT <= 2000 ms, TPOT <= 50 ms" in out
    for header in ("TTFT ms", "TPOT ms", "tok/s/chip P10-P90", "stack", "$/Mtok"):
        assert header in out
    code, out, _ = run_cli("compare", "--model", "llama-3.1-8b", "--inference", "--tpot-ms", "30", "--format", "json")
    rows = json.loads(out)
    assert all(r["tpot_s"] <= 0.030 + 1e-12 for r in rows if r["feasible"])
    assert all(r["output_tokens_per_s_per_chip_low"] <= r["output_tokens_per_s_per_chip"] for r in rows if r["feasible"])


def test_compare_training_says_how_it_sized_runs(run_cli):
    code, out, err = run_cli("compare", "--model", "llama-3.1-70b", "--training", "--tokens", "2e12", "--days", "30",
                             "--format", "json")
    assert code == 0, err
    rows = [r for r in json.loads(out) if r["feasible"]]
    assert rows and all(r["days"] <= 30.001 for r in rows)
    code, out, _ = run_cli("compare", "--model", "llama-3.1-70b", "--training", "--chips", "512")
    assert code == 0 and "every chip type at 512 chips" in out


def test_compare_refuses_options_that_do_nothing(run_cli):
    code, _, err = run_cli("compare", "--model", "llama-3.1-8b", "--training", "--chips", "8", "--days", "9")
    assert code == 2 and "--days" in err
    code, _, err = run_cli("compare", "--model", "llama-3.1-8b", "--inference", "--days", "9")
    assert code == 2 and "--days: has no effect with --inference" in err
    code, _, err = run_cli("compare", "--model", "llama-3.1-8b", "--inference", "--tpot-ms", "nan")
    assert code == 2 and "--tpot-ms" in err


def test_runtime_option_pins_the_stack(run_cli):
    code, out, _ = run_cli("perf", "inference", "-m", "llama-3.1-8b", "-a", "tpu-v6e", "--runtime", "jetstream",
                           "--format", "json")
    d = json.loads(out)
    assert code == 0 and d["runtime"] == "jetstream" and not d["runtime_default"] and d["band"]
    code, out, _ = run_cli("perf", "inference", "-m", "llama-3.1-8b", "-a", "h100", "--runtime", "jetstream",
                           "--format", "json")
    assert code == 0 and not json.loads(out)["feasible"]
    code, _, err = run_cli("perf", "training", "-m", "llama-3.1-8b", "-a", "h100", "--chips", "8", "--runtime", "bogus")
    assert code == 2 and "unknown runtime 'bogus'" in err and "megatron" in err


def test_calibration_cross_validation_by_family_and_stack(run_cli):
    code, out, err = run_cli("perf", "calibration", "--cv", "--folds", "3", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    fams = {g["group"] for g in doc["groups"] if g["scope"] == "family"}
    assert fams == {"tpu", "trainium", "nvidia", "amd", "all"}
    assert {p["fold"] for p in doc["points"]} == {0, 1, 2} and len(doc["points"]) >= 80
    assert "fold 3/3 fitted" in err
    apart = [g for g in doc["groups"] if g["scope"] == "held apart"]
    assert sorted((g["group"], g["points"], g["goal"]) for g in apart) == [
        ("amd/dstack-dsr1", 60, "-"), ("nvidia/dstack-dsr1-h200", 36, "-"), ("nvidia/sglang-dsv3-h200", 1, "-"),
        ("trainium/neuron-trn1-tnx-long-prompt", 2, "-"), ("trainium/nxdi-contrib-dsv3", 10, "-"),
        ("trainium/optimum-neuron-dp-cold-ttft", 2, "-")]
    assert not {p["id"] for p in doc["points"]} & {"dstack-mi300x-dsr1-vllm-3200-800-c4"}
    code, _, err = run_cli("perf", "calibration", "--folds", "3")
    assert code == 2 and "--cv" in err


def test_in_sample_calibration_counts_fitted_points_and_marks_the_rest(run_cli):
    """The title counts only the fitted points; held-apart ones are listed with their reason."""
    code, out, err = run_cli("perf", "calibration", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    apart = [r for r in rows if r["held_apart"]]
    trn1 = {r["id"] for r in apart if "inf2" in r["held_apart"]}
    assert trn1 == {"tnx-trn1-mistral-7b-b1-ttft", "tnx-trn1-llama2-13b-b1-ttft-8k"}
    cold = {r["id"] for r in apart if "loaded TTFT" in r["held_apart"]}
    assert cold == {"optneuron-trn1-llama31-8b-dp4-run1-sync-ttft", "optneuron-inf2-llama31-8b-dp3-sync-ttft"}
    assert len(apart) == 111 and all("software" in r["held_apart"] for r in apart if r["id"] not in cold)
    code, out, _ = run_cli("perf", "calibration")
    fitted = len(rows) - len(apart)
    assert f"/{fitted} points within tolerance" in out and "111 points are held apart" in out


def test_an_estimate_names_a_fitted_chip_factor(run_cli):
    """MI300X serves at a fitted fraction of ROCm's efficiency (the same die as MI325X at 750 W): the
    estimate says so; a chip no published result moves (trn3) says nothing of the kind."""
    code, out, _ = run_cli("perf", "inference", "-m", "llama-3.1-70b", "-a", "mi300x", "--dtype", "fp8",
                           "--format", "json")
    notes = json.loads(out)["assumptions"]
    assert code == 0 and any("mi300x runs at 0." in n and "inference efficiency" in n for n in notes)
    code, out, _ = run_cli("perf", "inference", "-m", "llama-3.1-70b", "-a", "trn3", "--format", "json")
    assert not any("its platform's fitted" in n for n in json.loads(out)["assumptions"])


def test_catalog_provider_filters_the_chip_view(run_cli):
    code, out, _ = run_cli("catalog", "--provider", "aws", "--format", "json")
    ids = {a["id"] for a in json.loads(out)}
    assert code == 0 and "trn2" in ids and "h100" in ids and not any(i.startswith("tpu") for i in ids)


def test_catalog_warns_about_old_prices(run_cli):
    code, out, _ = run_cli("catalog", "--what", "offerings", "--provider", "gcp", "--max-price-age", "30")
    assert code == 0 and "older than 30 days" in out and "age (days)" in out
    code, out, _ = run_cli("catalog", "--what", "offerings", "--provider", "gcp", "--max-price-age", "100000")
    assert "older than" not in out


def test_system_chips_must_be_a_box(run_cli):
    code, _, err = run_cli("perf", "inference", "-m", "llama-3.1-8b", "-a", "h100", "--system-chips", "0")
    assert code == 2 and "--system-chips" in err

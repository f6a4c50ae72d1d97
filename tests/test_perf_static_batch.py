"""Static-shape engines (Neuron): an engine compiled for a batch computes every slot of it in each
decode step, however few requests it serves. By hand, on an ideal roofline (every efficiency 1,
no overheads), so each difference is one term of the model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from roofline import ideal

from polyfleet.errors import UserError
from polyfleet.perf import Context, estimate_inference
from polyfleet.perf.calibration import Point

IDEAL = ideal(expert_efficiency=1.0, expert_shard_width=0.0)
LONE = dict(chips=1, batch=1, input_tokens=1000, output_tokens=100, runtime="nxdi", ctx=IDEAL)


def test_a_lone_request_on_a_batch_32_engine_reads_every_slots_kv():
    """Llama-3.1-8B on one trn2, one request of 1,000 in / 100 out. Decode is bound by reading the
    16 GB of weights (5.5 ms at 2.9 TB/s); compiled for 32, each step also reads 31 padded slots'
    KV caches at the mean context (1,050 tokens x 131,072 bytes): 31 x 138 MB / 2.9 TB/s, 1.5 ms more."""
    ctx = Context()
    spec, acc = ctx.model("llama-3.1-8b"), ctx.accelerator("trn2")
    bw = acc.figure("hbm_tbps").value * 1e12
    padded_kv = 31 * spec.kv_bytes_per_token("bf16") * (1000 + 100 / 2) / bw
    alone = estimate_inference("llama-3.1-8b", "trn2", **LONE)
    padded = estimate_inference("llama-3.1-8b", "trn2", compiled_batch=32, **LONE)
    assert spec.kv_bytes_per_token("bf16") == 32 * 2 * 8 * 128 * 2
    assert padded.tpot_s - alone.tpot_s == pytest.approx(padded_kv, rel=1e-6)
    assert padded.batch == alone.batch == 1


def test_a_moe_engine_compiled_past_the_expert_count_runs_every_expert_for_one_request():
    """Qwen3-30B-A3B (128 experts, top-8) on one trn2: one request routes 8 rows and reads only its
    experts; compiled for 16, the step routes 16 x 8 = 128 rows, NxD runs all 128 experts on all 16
    slots and reads every expert's weights: the step is bound by the 61 GB of weights, not the 3B
    active ones."""
    ctx = Context()
    spec, acc = ctx.model("qwen3-30b-a3b"), ctx.accelerator("trn2")
    bw = acc.figure("hbm_tbps").value * 1e12
    alone = estimate_inference("qwen3-30b-a3b", "trn2", **LONE)
    padded = estimate_inference("qwen3-30b-a3b", "trn2", compiled_batch=16, **LONE)
    all_weights = spec.params_total * 2 / bw
    assert alone.tpot_s < 0.3 * all_weights
    assert padded.tpot_s >= all_weights * (1 - 1e-6)


def test_the_engine_serves_its_compiled_batch_and_no_more():
    """Unfixed, the batch is the compiled one (on the grid or not) and the limit says so; a fixed
    batch above it is refused by name."""
    est = estimate_inference("llama-3.1-8b", "trn2", chips=1, input_tokens=1000, output_tokens=100, compiled_batch=23,
                             runtime="nxdi")
    assert est.batch == 23 and est.limit == "max batch"
    with pytest.raises(UserError, match="compiled for 4"):
        estimate_inference("llama-3.1-8b", "trn2", chips=1, batch=8, compiled_batch=4)
    with pytest.raises(UserError) as err:
        estimate_inference("llama-3.1-8b", "trn2", chips=1, compiled_batch=0)
    assert err.value.field == "--compiled-batch" and err.value.message == "must be at least 1"


def test_a_compiled_batch_whose_kv_caches_do_not_fit_is_infeasible_and_says_why():
    """Llama-3.1-8B on one trn2 (96 GB): 4,096 slots at 8k tokens each need about 4.4 TB of KV."""
    est = estimate_inference("llama-3.1-8b", "trn2", chips=1, input_tokens=8000, output_tokens=400,
                             compiled_batch=4096, runtime="nxdi")
    assert not est.feasible and "compiled batch" in est.reason
    fits = estimate_inference("llama-3.1-8b", "trn2", chips=1, input_tokens=8000, output_tokens=400,
                              compiled_batch=8, runtime="nxdi")
    assert fits.feasible and fits.batch == 8


@settings(max_examples=25, deadline=None)
@given(batch=st.sampled_from([1, 2, 4, 8, 16]), extra=st.integers(0, 48),
       model=st.sampled_from(["llama-3.1-8b", "qwen3-30b-a3b"]))
def test_padding_never_speeds_a_step_and_a_full_engine_pays_nothing(batch, extra, model):
    """TPOT never falls as the compiled batch grows past the served one; compiled for exactly the
    batch it serves, a static engine is timed as a dynamic one at that batch."""
    kw = dict(chips=1, batch=batch, input_tokens=512, output_tokens=128, runtime="nxdi")
    dynamic = estimate_inference(model, "trn2", **kw)
    full = estimate_inference(model, "trn2", compiled_batch=batch, **kw)
    padded = estimate_inference(model, "trn2", compiled_batch=batch + extra, **kw)
    assert full.tpot_s == pytest.approx(dynamic.tpot_s, rel=1e-12)
    assert full.output_tokens_per_s == pytest.approx(dynamic.output_tokens_per_s, rel=1e-12)
    assert padded.tpot_s >= full.tpot_s * (1 - 1e-12)


def test_a_calibration_point_cannot_serve_more_than_its_engine_holds():
    base = dict(id="x", model="llama-3.1-8b", accelerator="trn2", chips=1, stack="nxdi", published=1.0,
                tolerance=0.3, source="s", input_tokens=100, output_tokens=100)
    assert Point(**base, batch=1, compiled_batch=32).compiled_batch == 32
    with pytest.raises(ValueError, match="compiled_batch"):
        Point(**base, batch=64, compiled_batch=32)


def test_cli_takes_the_compiled_batch_and_names_a_bad_one(run_cli):
    args = ("perf", "inference", "-m", "llama-3.1-8b", "-a", "trn2", "--chips", "1", "--batch", "1")
    code, out, _ = run_cli(*args, "--compiled-batch", "32", "--format", "json")
    code0, out0, _ = run_cli(*args, "--format", "json")
    assert code == code0 == 0
    assert json.loads(out)["tpot_s"] > json.loads(out0)["tpot_s"]
    code, _, err = run_cli(*args, "--compiled-batch", "0")
    assert code == 2 and "--compiled-batch" in err and "Traceback" not in err
    assert np.isfinite(json.loads(out)["output_tokens_per_s"])

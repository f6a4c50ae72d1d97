"""int8 served weight-only (JetStream-PyTorch, Transformers NeuronX): the weights and KV cache are stored
in int8, the matmuls multiply bf16 activations by weights converted as they are read. So the prompt, which
is bound by the matmul rate, takes as long as in bf16, while a stack that multiplies in int8 (vLLM on TPU
here) runs it at the chip's int8 rate, twice the bf16 one on a v5e (393 against 197). By hand on the ideal
roofline (every efficiency 1, no overheads or interference)."""

from __future__ import annotations

import pytest
from roofline import ideal

from polyfleet.catalog import load_catalog
from polyfleet.perf import build_rate_table, estimate_inference
from polyfleet.perf.arrays import ChipArrays
from polyfleet.perf.calibration import load_calibration
from polyfleet.perf.portability import matmul_dtype
from polyfleet.workloads import Bucket, InferenceService, RequestMix

PROMPT = 4000


def _prompt_s(dtype: str, runtime: str) -> float:
    """Time of the prompt pass alone: TTFT less one decode step (a batch of one decodes alone)."""
    e = estimate_inference("llama-3-8b", "tpu-v5e", chips=4, batch=1, dtype=dtype, input_tokens=PROMPT,
                           output_tokens=100, runtime=runtime, ctx=ideal())
    return e.ttft_s - e.tpot_s


def test_the_catalog_says_which_stacks_quantize_weights_only():
    cat = load_catalog()
    assert {cat.runtime(s).quantized_matmuls for s in ("tnx", "jetstream")} == {"weight-only"}
    assert {cat.runtime(s).quantized_matmuls for s in ("vllm", "trtllm", "nxdi", "sglang")} == {"native"}
    assert matmul_dtype(cat, "jetstream", "int8") == "bf16" and matmul_dtype(cat, "jetstream", "int4") == "bf16"
    assert matmul_dtype(cat, "jetstream", "fp8") == "fp8" and matmul_dtype(cat, "vllm", "int8") == "int8"
    assert matmul_dtype(cat, None, "int8") == "int8"


def test_a_weight_only_prompt_runs_at_the_bf16_rate():
    """Llama-3-8B's 4,000-token prompt on 4 v5e: about 2 x 8e9 x 4,000 = 64 TFLOP against 16 GB of bf16
    weights, so the pass is bound by the matmuls (81 ms at 4 x 197 TFLOP/s, the weights read in 5 ms). In
    int8 on JetStream it takes exactly as long as in bf16. On vLLM the same int8 weights run at the int8
    rate, 197 / 393 of the time, except the two all-reduces per layer of every prompt token's activations
    (4,000 x 2 x 32 x 1.5 ring x 8 KB = 3.1 GB over the link's all-reduce bandwidth), which do not shrink."""
    bf16, weight_only = _prompt_s("bf16", "jetstream"), _prompt_s("int8", "jetstream")
    assert weight_only == pytest.approx(bf16, rel=1e-9)
    assert 0.070 < bf16 < 0.110
    ctx = ideal()
    H = ChipArrays.build([(ctx.accelerator("tpu-v5e"), "bf16")], ctx.efficiency)
    allreduce = PROMPT * 2 * 32 * 1.5 * 2 * 4096 / float(H.allreduce_bw[0])
    matmuls = _prompt_s("bf16", "vllm") - allreduce
    assert _prompt_s("int8", "vllm") == pytest.approx(matmuls * 197 / 393 + allreduce, rel=1e-6)


def test_a_weight_only_decode_still_reads_int8_weights():
    """A step of one sequence is bound by reading the weights and its KV cache: weight-only int8 keeps
    the saving of int8 storage. The step shrinks by the bytes not read, one per parameter (8.03 GB) and
    half of the 128 KB bf16 cache of each of the 4,000 + 100 / 2 tokens held on average (265 MB), over
    4 v5e's 819 GB/s: 2.53 ms."""
    def tpot(dtype: str) -> float:
        return estimate_inference("llama-3-8b", "tpu-v5e", chips=4, batch=1, dtype=dtype, input_tokens=PROMPT,
                                  output_tokens=100, runtime="jetstream", ctx=ideal()).tpot_s
    ctx = ideal()
    spec = ctx.model("llama-3-8b")
    assert spec.kv_bytes_per_token("bf16") == 32 * 2 * 8 * 128 * 2
    saved_bytes = spec.params_total + (PROMPT + 100 / 2) * spec.kv_bytes_per_token("bf16") / 2
    hbm = ctx.accelerator("tpu-v5e").figure("hbm_tbps").value * 1e12
    assert tpot("bf16") - tpot("int8") == pytest.approx(saved_bytes / (4 * hbm), rel=1e-6)
    assert saved_bytes / (4 * hbm) == pytest.approx(2.53e-3, rel=0.01)


def test_the_estimate_says_the_stack_multiplies_in_bf16():
    e = estimate_inference("llama-3-8b", "tpu-v5e", chips=4, dtype="int8", runtime="jetstream")
    assert e.compute_dtype == "bf16"
    assert "jetstream quantizes weights only: int8 weights, bf16 matmuls" in e.assumptions
    native = estimate_inference("llama-3-8b", "tpu-v5e", chips=4, dtype="int8", runtime="vllm")
    assert native.compute_dtype == "int8" and not any("quantizes weights only" in a for a in native.assumptions)


def test_a_weight_only_service_is_the_same_model_in_the_table(ctx):
    """The plan's rate table asks the chip for the matmul dtype the stack uses, as the one-off estimate does."""
    svc = InferenceService(id="int8", model="llama-3-8b", dtype="int8", runtime="jetstream",
                           mix=RequestMix(buckets=(Bucket(input_tokens=2000, output_tokens=200),)))
    t = build_rate_table([svc], ctx=ctx, offerings=["gcp/tpu-v5litepod-8/us-central1"])
    c = int(t.chips_per_unit[0, 0])
    one = estimate_inference("llama-3-8b", "tpu-v5e", chips=c, dtype="int8", input_tokens=2000,
                             output_tokens=200, runtime="jetstream", ctx=ctx)
    assert one.compute_dtype == "bf16"
    assert t.rate[0, 0] == pytest.approx(one.output_tokens_per_s_per_chip * 3600)


def test_every_int8_calibration_point_ran_a_weight_only_stack():
    """The published int8 results (Transformers NeuronX on inf2 and trn1, JetStream-PyTorch on v5e) all
    multiplied in bf16; fitted at the int8 rate, the inf2 and v5e int8 rows read 15-30% fast held out."""
    cal, cat = load_calibration(), load_catalog()
    int8 = [p for _, p in cal.points() if p.dtype == "int8"]
    assert len(int8) == 9
    assert all(matmul_dtype(cat, p.stack, p.dtype) == "bf16" for p in int8)

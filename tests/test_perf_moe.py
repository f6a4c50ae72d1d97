"""Mixture-of-experts training: expert GEMMs, imbalance and the all-to-all over each interconnect,
hand-derived on a small model."""

from __future__ import annotations

import dataclasses

import pytest

from polyfleet.catalog.figures import Figure
from polyfleet.perf import Context, default_efficiency, estimate_training
from polyfleet.perf.efficiency import Efficiency
from polyfleet.workloads.models import ModelLibrary, ModelSpec, MoE

SEQ = 4096
MOE = ModelSpec(id="moe-test", layers=10, d_model=1024, heads=8, kv_heads=8, ffn=4096, vocab=1000,
                moe=MoE(experts=64, active=4, ffn=512))


def context(imbalance=1.0, gemm_width=0.0, a2a=0.5) -> Context:
    """MFU 0.5 everywhere, no intensity/scale-out/memory effects, every stack and chip at its platform's
    efficiency."""
    data = default_efficiency().model_dump()
    data["intensity_scale"] = 1e15
    data["stacks"] = {}
    data["chips"] = {}
    for plat in data["platforms"].values():
        plat["training"].update(mfu={"bf16": 0.5, "fp8": 0.5}, scaleout_exponent=0.0, memory_pressure=0.0,
                                a2a_efficiency=a2a, expert_imbalance=imbalance, expert_gemm_width=gemm_width,
                                attention_efficiency=1.0)
    base = Context()
    return Context(catalog=base.catalog, models=ModelLibrary({**base.models.models, "moe-test": MOE}),
                   efficiency=Efficiency.model_validate(data))


def seconds(acc_peak: float, a2a_bytes: float, bw: float) -> float:
    return MOE.training_flops_per_token(SEQ) / (acc_peak * 0.5) + a2a_bytes / bw


def test_nvlink_switch_keeps_experts_in_the_8_gpu_domain():
    """H100 (NVSwitch, 8-GPU domain, 900 GB/s): 64 chips spread experts over EP = 8. Each token sends
    8 bytes x 10 layers x 4 experts x 1,024 x (1 - 1/8) = 286,720 bytes at 900 GB/s x 0.5."""
    e = estimate_training(MOE, "h100", 64, seq_len=SEQ, ctx=context())
    want = 1.0 / seconds(989.4e12, 8 * 10 * 4 * 1024 * (1 - 1 / 8), 900e9 * 0.5)
    assert e.feasible and e.tokens_per_s_per_chip == pytest.approx(want, rel=1e-9)


def test_torus_all_to_all_is_bisection_limited():
    """TPU v5p (3-D torus, 1,200 GB/s): 64 chips hold the 64 experts (EP 64); a k=4 cube reaches
    4 / (3 x 4) = 1/3 of the link bandwidth: 8 x 10 x 4 x 1,024 x 63/64 bytes at 1,200 GB/s / 3 x 0.5."""
    e = estimate_training(MOE, "tpu-v5p", 64, seq_len=SEQ, ctx=context())
    want = 1.0 / seconds(459e12, 8 * 10 * 4 * 1024 * 63 / 64, 1200e9 / 3 * 0.5)
    assert e.tokens_per_s_per_chip == pytest.approx(want, rel=1e-9)


def test_2d_torus_on_trainium():
    """trn1 (2-D torus in a 16-chip instance, 384 GB/s): EP 16 -> 4 / (2 x 16^(1/2)) = 1/2."""
    e = estimate_training(MOE, "trn1", 64, seq_len=SEQ, ctx=context())
    want = 1.0 / seconds(190e12, 8 * 10 * 4 * 1024 * 15 / 16, 384e9 / 2 * 0.5)
    assert e.tokens_per_s_per_chip == pytest.approx(want, rel=1e-9)


def test_experts_beyond_a_small_domain_cross_the_scale_out_network():
    """A 4-chip scale-up domain (switched, 900 GB/s) with 64 chips: EP 64 spans 16 domains. Each
    token reaches its 4 experts over the fabric (4 x 63/64 copies at 900 GB/s x 0.5) and, dispatched
    hierarchically, goes once to each other domain holding one of them: 15 x (1 - (15/16)^4) copies
    at the 50 GB/s scale-out network x 0.5; a copy is 8 x 10 layers x 1,024 bytes."""
    ctx = context()
    h100 = ctx.catalog.accelerator("h100")
    small = h100.model_copy(update={"id": "h100-x4", "aliases": (),
                                    "scaleup_chips": Figure(value=4, source="test", status="user")})
    ctx.catalog = dataclasses.replace(ctx.catalog, accelerators={**ctx.catalog.accelerators, "h100-x4": small})
    e = estimate_training(MOE, "h100-x4", 64, seq_len=SEQ, ctx=ctx)
    copy = 8 * 10 * 1024
    t_a2a = copy * 4 * 63 / 64 / (900e9 * 0.5) + copy * 15 * (1 - (15 / 16) ** 4) / (50e9 * 0.5)
    want = 1.0 / seconds(989.4e12, t_a2a, 1.0)
    assert e.tokens_per_s_per_chip == pytest.approx(want, rel=1e-9)


def test_imbalance_and_narrow_experts_slow_only_the_expert_matmuls():
    """Expert matmuls are 6 x 10 layers x 4 experts x 3 x 1,024 x 512 FLOPs per token; imbalance 1.25
    and a GEMM width of 512 (ffn 512 -> half efficiency) make them 1.25 x 2 = 2.5x slower."""
    expert = 6 * 10 * 4 * 3 * 1024 * 512
    fpt = MOE.training_flops_per_token(SEQ)
    e = estimate_training(MOE, "h100", 8, seq_len=SEQ, ctx=context(imbalance=1.25, gemm_width=512.0))
    rate = 989.4e12 * 0.5
    t = (fpt - expert) / rate + 2.5 * expert / rate + 8 * 10 * 4 * 1024 * (7 / 8) / (900e9 * 0.5)
    assert e.tokens_per_s_per_chip == pytest.approx(1.0 / t, rel=1e-9)
    assert MOE.expert_params * 4 / 64 == 10 * 4 * 3 * 1024 * 512


def test_dense_models_have_no_all_to_all():
    e = estimate_training("llama-3.1-8b", "h100", 8, seq_len=8192, ctx=context(a2a=0.05))
    f = estimate_training("llama-3.1-8b", "h100", 8, seq_len=8192, ctx=context(a2a=1.0))
    assert e.tokens_per_s_per_chip == f.tokens_per_s_per_chip > 0

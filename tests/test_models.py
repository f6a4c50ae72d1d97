"""The model library: derived parameter counts, FLOPs and KV bytes against published and hand-derived values."""

from __future__ import annotations

import pytest

from polyfleet.errors import UnknownNameError, UserError
from polyfleet.workloads import load_models

REQUIRED = ["llama-2-7b", "llama-2-70b", "llama-3-8b", "llama-3.1-8b", "llama-3.1-70b", "llama-3.3-70b",
            "llama-3.1-405b", "mixtral-8x7b", "deepseek-v3"]


@pytest.mark.parametrize("name", REQUIRED)
def test_parameter_count_matches_published(name):
    """Counts derived from the architecture land within 1% of what the authors state."""
    m = load_models().get(name)
    assert m.params_total / 1e9 == pytest.approx(m.published_params_b, rel=0.01)
    if m.published_active_params_b:
        assert m.params_active / 1e9 == pytest.approx(m.published_active_params_b, rel=0.02)


def test_kv_bytes_per_token_hand_derived():
    lib = load_models()
    # 2 (K and V) x 80 layers x 8 KV heads x 128 dims x 2 bytes = 327,680 B = 320 KiB
    assert lib.get("llama-2-70b").kv_bytes_per_token("bf16") == 327_680
    assert lib.get("llama-2-70b").kv_bytes_per_token("fp8") == 163_840
    # Llama-2-7B is multi-head: 2 x 32 x 32 x 128 x 2 = 524,288 B
    assert lib.get("llama-2-7b").kv_bytes_per_token("bf16") == 524_288
    # DeepSeek-V3 caches the MLA latent: 61 layers x (512 + 64) x 2 bytes = 70,272 B
    assert lib.get("deepseek-v3").kv_bytes_per_token("bf16") == 70_272


def test_training_flops_per_token():
    """6 x matmul params + causal attention: Llama-3.1-8B at 8,192 tokens.
    matmul params = 8.03e9 - 128,256 x 4,096 (input embedding) = 7,504,924,672;
    attention = 3 x 2 x 32 layers x 4,096 (mean causal context) x 32 heads x 256 = 6,442,450,944."""
    m = load_models().get("llama-3.1-8b")
    assert m.matmul_params_active == 7_504_924_672
    assert m.training_flops_per_token(8192) == 6 * 7_504_924_672 + 6_442_450_944


def test_moe_active_parameters_route_two_of_eight():
    m = load_models().get("mixtral-8x7b")
    expert = 3 * 4096 * 14336                       # one SwiGLU expert
    assert m.params_total - m.params_active == 32 * 6 * expert   # six experts a token skips, in 32 layers
    assert m.expert_fraction_read(1) == pytest.approx(0.25)
    assert m.expert_fraction_read(1000) == pytest.approx(1.0)


def test_aliases_and_unknown_names():
    lib = load_models()
    assert lib.get("Llama3.1-70B").id == "llama-3.1-70b"
    with pytest.raises(UnknownNameError, match="llama-3.1-8b"):
        lib.get("llama-3.1-9b")


def test_user_model_file(tmp_path):
    f = tmp_path / "m.yaml"
    f.write_text("models:\n  - {id: tiny, layers: 2, d_model: 256, heads: 4, kv_heads: 2, ffn: 1024, vocab: 1000}\n")
    m = load_models(f).get("tiny")
    assert m.params_total == 2 * 1000 * 256 + 2 * (2 * 256 * 256 + 2 * 256 * 128 + 3 * 256 * 1024 + 2 * 256) + 256


def test_bad_model_file_names_line_and_field(tmp_path):
    f = tmp_path / "m.yaml"
    f.write_text("models:\n  - id: bad\n    layers: 2\n    d_model: 256\n    heads: 6\n    kv_heads: 4\n"
                 "    ffn: 1024\n    vocab: 1000\n")
    with pytest.raises(UserError, match=r"m.yaml:2.*heads \(6\) must be a multiple of kv_heads"):
        load_models(f)

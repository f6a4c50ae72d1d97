"""LLM architecture specs and the quantities derived from them (parameters, FLOPs, KV bytes)."""

from __future__ import annotations

from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..datafile import DataFile, validate
from ..errors import UnknownNameError, UserError

BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "fp4": 0.5, "int4": 0.5}


class MoE(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    experts: int = Field(gt=0)
    active: int = Field(gt=0)
    shared: int = Field(default=0, ge=0)
    ffn: int | None = Field(default=None, gt=0, description="per-expert FFN width; default: the model's ffn")
    dense_layers: int = Field(default=0, ge=0, description="leading layers with a dense FFN")


class MLA(BaseModel):
    """Multi-head latent attention (DeepSeek): a compressed KV cache."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    q_lora_rank: int | None = None
    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int


class ModelSpec(BaseModel):
    """A decoder-only transformer. Counts are per the model's config.json."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str = ""
    aliases: tuple[str, ...] = ()
    source: str = ""
    layers: int = Field(gt=0)
    d_model: int = Field(gt=0)
    heads: int = Field(gt=0)
    kv_heads: int = Field(gt=0)
    head_dim: int | None = Field(default=None, gt=0)
    ffn: int = Field(gt=0)
    vocab: int = Field(gt=0)
    context: int = Field(default=8192, gt=0)
    tie_embeddings: bool = False
    moe: MoE | None = None
    mla: MLA | None = None
    published_params_b: float | None = None
    published_active_params_b: float | None = None

    @model_validator(mode="after")
    def _check(self) -> "ModelSpec":
        if self.heads % self.kv_heads:
            raise ValueError(f"heads ({self.heads}) must be a multiple of kv_heads ({self.kv_heads})")
        if self.moe and self.moe.active > self.moe.experts:
            raise ValueError("moe.active cannot exceed moe.experts")
        if self.moe and self.moe.dense_layers > self.layers:
            raise ValueError("moe.dense_layers cannot exceed layers")
        return self

    # ---- shapes ---------------------------------------------------------------
    @property
    def hd(self) -> int:
        return self.head_dim or self.d_model // self.heads

    @property
    def qk_dim(self) -> int:
        """Per-head query/key width (for attention FLOPs)."""
        return self.mla.qk_nope_head_dim + self.mla.qk_rope_head_dim if self.mla else self.hd

    @property
    def v_dim(self) -> int:
        return self.mla.v_head_dim if self.mla else self.hd

    # ---- parameters -------------------------------------------------------------
    @cached_property
    def attention_params_per_layer(self) -> int:
        d, h = self.d_model, self.heads
        if self.mla:
            m = self.mla
            q = d * m.q_lora_rank + m.q_lora_rank * h * self.qk_dim if m.q_lora_rank else d * h * self.qk_dim
            kv = d * (m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank * h * (m.qk_nope_head_dim + m.v_head_dim)
            return q + kv + h * m.v_head_dim * d
        return d * h * self.hd * 2 + 2 * d * self.kv_heads * self.hd

    def _ffn_params(self, active: bool) -> int:
        """FFN parameters over all layers (SwiGLU: three d x ffn matrices)."""
        d = self.d_model
        if self.moe is None:
            return self.layers * 3 * d * self.ffn
        m = self.moe
        width = m.ffn or self.ffn
        experts = (m.active if active else m.experts) + m.shared
        moe_layer = experts * 3 * d * width + d * m.experts
        return m.dense_layers * 3 * d * self.ffn + (self.layers - m.dense_layers) * moe_layer

    def _params(self, active: bool) -> int:
        embed = self.vocab * self.d_model * (1 if self.tie_embeddings else 2)
        norms = 2 * self.d_model * self.layers + self.d_model
        return embed + norms + self.layers * self.attention_params_per_layer + self._ffn_params(active)

    @cached_property
    def params_total(self) -> int:
        return self._params(active=False)

    @cached_property
    def params_active(self) -> int:
        return self._params(active=True)

    @cached_property
    def matmul_params_active(self) -> int:
        """Parameters a token multiplies through: active weights less the embedding lookup
        (the output projection is a matmul even when tied)."""
        return self.params_active - (0 if self.tie_embeddings else self.vocab * self.d_model)

    # ---- FLOPs and bytes ----------------------------------------------------------
    def attention_flops_per_token(self, context: float) -> float:
        """Forward attention FLOPs (QK^T and AV) of one token attending to `context` tokens."""
        return 2.0 * self.layers * context * self.heads * (self.qk_dim + self.v_dim)

    def decode_attention_flops_per_token(self, context: float) -> float:
        """Attention FLOPs of one decoded token. MLA engines decode in the absorbed form (FlashMLA,
        TensorRT-LLM, vLLM): each head scores the whole latent KV (kv_lora_rank + rope dims) and sums the
        latent values (kv_lora_rank), reading the small cache once at more FLOPs per token of it; other
        attention is the forward pass's."""
        if not self.mla:
            return self.attention_flops_per_token(context)
        m = self.mla
        return 2.0 * self.layers * context * self.heads * (2 * m.kv_lora_rank + m.qk_rope_head_dim)

    def training_flops_per_token(self, seq_len: int) -> float:
        """6·N_active plus causal attention (half of full: 3 x forward at mean context s/2)."""
        return 6.0 * self.matmul_params_active + 3.0 * self.attention_flops_per_token(seq_len / 2)

    def kv_bytes_per_token(self, dtype: str = "bf16") -> float:
        """KV-cache bytes one token holds across all layers."""
        if self.mla:
            elems = self.mla.kv_lora_rank + self.mla.qk_rope_head_dim
        else:
            elems = 2 * self.kv_heads * self.hd
        return self.layers * elems * _bytes(dtype)

    def weight_bytes(self, dtype: str = "bf16") -> float:
        return self.params_total * _bytes(dtype)

    def expert_fraction_read(self, batch):
        """Share of MoE expert weights a decode step reads at `batch` tokens (distinct experts touched)."""
        import numpy as np
        if self.moe is None:
            return np.ones_like(np.asarray(batch, dtype=float))
        m = self.moe
        return 1.0 - (1.0 - m.active / m.experts) ** np.asarray(batch, dtype=float)

    @cached_property
    def expert_params(self) -> int:
        """Routed-expert parameters (those a small batch need not read)."""
        if self.moe is None:
            return 0
        m = self.moe
        return (self.layers - m.dense_layers) * m.experts * 3 * self.d_model * (m.ffn or self.ffn)


def _bytes(dtype: str) -> float:
    try:
        return BYTES[dtype]
    except KeyError:
        raise UserError(f"unknown dtype '{dtype}'", allowed=", ".join(BYTES)) from None


class ModelLibrary:
    """Models by id and alias."""

    def __init__(self, models: dict[str, ModelSpec]) -> None:
        self.models = models
        self._names = {n.lower(): m.id for m in models.values() for n in (m.id, *m.aliases)}

    def get(self, name: str) -> ModelSpec:
        key = self._names.get(name.strip().lower())
        if key is None:
            raise UnknownNameError("model", name, self._names)
        return self.models[key]

    @property
    def names(self) -> list[str]:
        """Every id and alias (lower case)."""
        return list(self._names)

    def __iter__(self):
        return iter(self.models.values())

    def __len__(self) -> int:
        return len(self.models)


def _read(doc: DataFile, into: dict[str, ModelSpec]) -> None:
    data = doc.data or {}
    items = data.get("models") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise UserError("needs a list under 'models:'", where=doc.name, field="models")
    for i, raw in enumerate(items):
        if isinstance(raw, dict) and raw.get("source") in (data.get("sources") or {}):
            raw = {**raw, "source": data["sources"][raw["source"]]["ref"]}
        spec = validate(ModelSpec, raw, doc.name, doc, ("models", i))
        into[spec.id] = spec


@lru_cache(maxsize=1)
def _builtin() -> dict[str, ModelSpec]:
    text = (resources.files("polyfleet.workloads") / "data" / "models.yaml").read_text(encoding="utf-8")
    out: dict[str, ModelSpec] = {}
    _read(DataFile(text, "built-in models.yaml"), out)
    return out


def load_models(*sources: str | Path | DataFile) -> ModelLibrary:
    """The built-in model library with user models (YAML files or parsed `DataFile`s with a
    `models:` list) added over it."""
    models = dict(_builtin())
    for src in sources:
        _read(src if isinstance(src, DataFile) else DataFile.read(src), models)
    return ModelLibrary(models)

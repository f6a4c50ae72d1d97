"""compare: every chip at one stated latency target; training runs sized to a duration or a chip count."""

from __future__ import annotations

import math

import pytest

from polyfleet.errors import UserError
from polyfleet.perf import compare_inference, compare_training, estimate_training
from polyfleet.perf.compare import INTERACTIVE_TPOT_S, INTERACTIVE_TTFT_S

ACCS = ["h100", "h200", "tpu-v6e", "trn2", "mi300x"]


def test_inference_rows_meet_the_slo_they_are_ranked_at(ctx):
    ests = compare_inference("llama-3.1-70b", ttft_s=INTERACTIVE_TTFT_S, tpot_s=INTERACTIVE_TPOT_S,
                             accelerators=ACCS, ctx=ctx)
    feasible = [e for e in ests if e.feasible]
    assert feasible
    for e in feasible:
        assert e.tpot_s <= INTERACTIVE_TPOT_S + 1e-12 and e.ttft_s <= INTERACTIVE_TTFT_S + 1e-12
    costs = [e.usd_per_million_output_tokens for e in feasible if e.usd_per_million_output_tokens is not None]
    assert costs == sorted(costs)


def test_training_sized_to_a_duration(ctx):
    """Each chip type gets the fewest chips (in whole groups of up to 8) that finish in 30 days."""
    ests, sizing = compare_training("llama-3.1-70b", tokens=2e12, days=30, accelerators=["h100", "tpu-v5p"], ctx=ctx)
    assert sizing.days == 30 and "30 days" in sizing.describe()
    for e in ests:
        assert e.feasible and e.days <= 30 * 1.0001
        fewer = estimate_training("llama-3.1-70b", e.accelerator, e.chips - 8, tokens=2e12, ctx=ctx)
        assert not fewer.feasible or fewer.days > 30


def test_training_at_a_chip_count_and_the_default(ctx):
    ests, sizing = compare_training("llama-3.1-8b", tokens=1e12, chips=512, accelerators=["h100", "trn2"], ctx=ctx)
    assert all(e.chips == 512 for e in ests) and "512 chips" in sizing.describe()
    _, default = compare_training("llama-3.1-8b", tokens=1e12, accelerators=["h100"], ctx=ctx)
    assert default.days == 90


@pytest.mark.parametrize("kw", [dict(chips=8, days=10), dict(days=0), dict(days=math.nan)])
def test_training_sizing_errors(ctx, kw):
    with pytest.raises(UserError):
        compare_training("llama-3.1-8b", accelerators=["h100"], ctx=ctx, **kw)


def test_compare_reads_the_models_of_the_context_it_is_given(ctx):
    """A house model known only to a scenario's context (llama-3.1-8b under another name) is compared
    with that context's facts: the same rows as the model under its own name."""
    from polyfleet.perf import Context
    from polyfleet.workloads.models import ModelLibrary
    spec = ctx.models.get("llama-3.1-8b").model_copy(update={"id": "house-8b", "aliases": []})
    house = Context(models=ModelLibrary({"house-8b": spec}))
    mine = compare_inference("house-8b", accelerators=["h100", "trn2"], ctx=house)
    ref = compare_inference("llama-3.1-8b", accelerators=["h100", "trn2"], ctx=ctx)
    assert [(e.accelerator, e.output_tokens_per_s_per_chip) for e in mine] == \
        [(e.accelerator, e.output_tokens_per_s_per_chip) for e in ref]
    assert all(e.feasible for e in mine)

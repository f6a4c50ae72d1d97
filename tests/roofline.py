"""The pure roofline the hand-derived perf tests reason on: every efficiency 1, no overheads,
interference, chip or stack factors, so each difference between two estimates is one term."""

from __future__ import annotations

from polyfleet.perf import Context, default_efficiency
from polyfleet.perf.efficiency import Efficiency


def ideal_data(**inference) -> dict:
    """Efficiency data of the pure roofline; `inference` sets (or changes) serving fields on every platform."""
    data = default_efficiency().model_dump()
    data["stacks"], data["chips"] = {}, {}     # every stack and chip at its platform's efficiency
    for plat in data["platforms"].values():
        inf = plat["inference"]
        inf["compute"] = {k: 1.0 for k in inf["compute"]}
        inf.update({"bandwidth": 1.0, "kv_bandwidth": 1.0, "overhead_ms": 0.0, "per_sequence_us": 0.0,
                    "collective_us": 0.0, "attention_efficiency": 1.0, "interference": 0.0, **inference})
    return data


def context(data: dict) -> Context:
    return Context(efficiency=Efficiency.model_validate(data))


def ideal(**inference) -> Context:
    return context(ideal_data(**inference))

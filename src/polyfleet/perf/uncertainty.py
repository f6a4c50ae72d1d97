"""How sure an estimate is: a band from the cross-validated error of its family and stack.

`perf/data/bands.yaml` holds, per (family, stack, kind), the P10 and P90 of
log(predicted / published throughput) over the calibration points when each point was held
out of the fit (written by `benchmarks/calibration_cv.py`). An estimate of throughput X gets
the band [X / exp(P90), X / exp(P10)], widened to hold X itself where every held-out error of
the group lies on one side: if held-out predictions ran 20% high at P90, the low end is X / 1.2. Groups with fewer than MIN_POINTS points fall back to the family, then to all
points, and the band says which basis it used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field

from ..datafile import DataFile, validate

MIN_POINTS = 5


class BandRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    family: str                  # tpu | trainium | nvidia | amd | all
    stack: str                   # a stack id or "all"
    kind: str                    # inference | training | all
    n: int = Field(ge=0)
    p10: float                   # log(predicted / published), 10th percentile
    p90: float


class Bands(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str
    rows: tuple[BandRow, ...]


@dataclass(frozen=True)
class Band:
    low: float        # multiplier on the estimate for its low end (P10 of the truth)
    high: float       # multiplier for its high end (P90)
    n: int
    basis: str        # e.g. "nvidia/trtllm inference, 41 held-out points"

    def apply(self, value: float | None) -> tuple[float | None, float | None]:
        if value is None or not math.isfinite(value):
            return None, None
        return value * self.low, value * self.high


@lru_cache(maxsize=1)
def load_bands() -> Bands:
    text = (resources.files("polyfleet.perf") / "data" / "bands.yaml").read_text(encoding="utf-8")
    doc = DataFile(text, "built-in bands.yaml")
    return validate(Bands, doc.data, doc.name, doc)


def band_for(family: str, stack: str | None, kind: str, bands: Bands | None = None) -> Band:
    """The band of the narrowest group with at least MIN_POINTS held-out points."""
    bands = bands or load_bands()
    index = {(r.family, r.stack, r.kind): r for r in bands.rows}
    for key in ((family, stack or "all", kind), (family, "all", kind), (family, "all", "all"), ("all", "all", kind),
                ("all", "all", "all")):
        row = index.get(key)
        if row is not None and row.n >= MIN_POINTS:
            name = "/".join(k for k in key[:2] if k != "all") or "all points"
            basis = f"{name} {'' if key[2] == 'all' else key[2] + ' '}held-out error, {row.n} points".replace("  ", " ")
            # a group whose held-out errors all lie on one side is biased: its band still holds
            # the estimate (the planner's pessimistic end is never above it)
            return Band(low=min(math.exp(-row.p90), 1.0), high=max(math.exp(-row.p10), 1.0), n=row.n, basis=basis)
    return Band(low=float("nan"), high=float("nan"), n=0, basis="no held-out points")

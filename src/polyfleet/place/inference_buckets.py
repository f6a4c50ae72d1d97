"""Mélange's bucket-level split: one pseudo-service per request-size bucket.

The rate table folds a service's request mix into one rate per offering, which prices every
replica as serving the whole mix. Mélange instead lets each request-size bucket go to the chip
that serves it cheapest (long prompts to high-bandwidth parts, short chats to cheap ones). To
place at that grain: split each service into single-bucket services, build the rate table over
those, and split the demand by each bucket's share of output tokens (what rates are counted in).
Routing weights then come per bucket: the load balancer routes by request size first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import UnknownNameError
from ..workloads.workload import InferenceService, RequestMix
from .inference_model import Demand

SEP = "#"


def split_buckets(service: InferenceService) -> list[tuple[InferenceService, float]]:
    """[(single-bucket service '<id>#<i>', share of the service's output tokens)] per bucket."""
    shares = service.mix.output_token_shares()
    return [(service.model_copy(update={"id": f"{service.id}{SEP}{i}",
                                        "mix": RequestMix(buckets=(b.model_copy(update={"weight": 1.0}),))}),
             float(share)) for i, (b, share) in enumerate(zip(service.mix.buckets, shares))]


def split_services(services: Sequence[InferenceService]) -> list[InferenceService]:
    """Every service's bucket services, in order: what to build the rate table over."""
    return [b for s in services for b, _ in split_buckets(s)]


def split_demand(demand: Demand, services: Sequence[InferenceService]) -> Demand:
    """The demand over bucket services: each service's tokens/s times each bucket's output-token share."""
    by_id = {s.id: s for s in services}
    names: list[str] = []
    rows: list[np.ndarray] = []
    for i, svc in enumerate(demand.services):
        if svc not in by_id:
            raise UnknownNameError("inference service", svc, by_id)
        for b, share in split_buckets(by_id[svc]):
            names.append(b.id)
            rows.append(demand.tokens_per_s[i] * share)
    return Demand(tuple(names), demand.tiers, np.array(rows).reshape(len(names), len(demand.tiers)))

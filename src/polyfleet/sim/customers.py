"""Customers: each tier's accounts, with heavy-tailed sizes, so that impact can be told per customer.

Every customer belongs to one tier and sends its traffic to one service (drawn in proportion to
the tier's traffic on each service); sizes within a tier follow a Pareto law (a few large
accounts, a long tail). When a (service, tier) falls short, its customers share the shortfall
in proportion to their size (equal-share rationing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..scenario.simulation import CustomerModel


@dataclass(frozen=True)
class Customers:
    """Arrays over customers: tier index, service index, size (share of its group's demand)."""
    tier: np.ndarray
    service: np.ndarray
    share_of_group: np.ndarray
    groups: np.ndarray          # [S, K] customers in each (service, tier)

    @property
    def count(self) -> int:
        return len(self.tier)


def draw_customers(counts: np.ndarray, traffic: np.ndarray, model: CustomerModel,
                   rng: np.random.Generator) -> Customers:
    """`counts[k]` customers per tier; `traffic[s, k]` each tier's demand on each service."""
    S, K = traffic.shape
    tiers = np.repeat(np.arange(K), counts)
    service = np.empty(len(tiers), dtype=np.int64)
    size = (1.0 - rng.random(len(tiers))) ** (-1.0 / model.pareto_alpha)   # Pareto(alpha), minimum 1
    for k in range(K):
        sel = tiers == k
        w = traffic[:, k]
        p = w / w.sum() if w.sum() > 0 else np.full(S, 1.0 / S)
        service[sel] = rng.choice(S, size=int(sel.sum()), p=p)
    group = service * K + tiers
    totals = np.bincount(group, weights=size, minlength=S * K)
    share = size / totals[group]
    return Customers(tier=tiers, service=service, share_of_group=share,
                     groups=np.bincount(group, minlength=S * K).reshape(S, K))


def affected(customers: Customers, unserved_share: np.ndarray, threshold: float) -> np.ndarray:
    """Customers affected at each step: `unserved_share[t, s, k]` above the threshold affects the
    whole (s, k) group (rationing is proportional). Returns [t] counts."""
    hit = unserved_share > threshold
    return (hit * customers.groups[None, :, :]).sum(axis=(1, 2))


def loss_per_customer(customers: Customers, unserved_tokens: np.ndarray) -> np.ndarray:
    """Tokens each customer lost over the run, from `unserved_tokens[s, k]` totals."""
    return unserved_tokens[customers.service, customers.tier] * customers.share_of_group

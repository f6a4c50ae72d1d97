"""A placement as Ray sees it: node resources and labels, replica actors, training gangs. Plain data:
nothing here imports Ray, so `polyfleet export ray` works without it.

Nodes advertise their chips as Ray's accelerator resources (`TPU`, `GPU`, `neuron_cores` =
chips x NeuronCores per chip) and carry labels for the pool, accelerator, provider and region. One node
is one unit of the offering (an instance, a TPU host). A replica of `c` chips on nodes of `h` chips is
one actor when it fits a node, else one actor per host inside a placement group (all hosts or none);
a training gang is a placement group of one bundle per node it spans. Both select their pool's nodes by
label and ask for the accelerator resource, so they land nowhere else.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..catalog import Catalog
from ..errors import UserError
from ..place.routing import routing_table

POOL_LABEL = "polyfleet.io/pool"
ACCELERATOR_LABEL = "polyfleet.io/accelerator"
PROVIDER_LABEL = "polyfleet.io/provider"
REGION_LABEL = "polyfleet.io/region"
RAY_RESOURCE = {"tpu": "TPU", "trainium": "neuron_cores", "gpu": "GPU"}
TPU_CHIPS_PER_REQUEST = (1, 2, 4, 8)        # Ray accepts only these TPU counts in one request


def label_value(pool: str) -> str:
    """A pool id as a label value (Kubernetes syntax, which Ray follows): `gcp/tpu-v6e-8/us-east5` ->
    `gcp.tpu-v6e-8.us-east5`."""
    out = re.sub(r"[^A-Za-z0-9_.-]+", ".", pool).strip("._-")
    return out[:63].rstrip("._-")


@dataclass(frozen=True)
class Hardware:
    """How one offering's chips appear to Ray."""

    resource: str          # TPU | GPU | neuron_cores
    per_chip: int          # resource units per chip
    node_chips: int        # chips per node (one unit of the offering)
    labels: dict = field(default_factory=dict)

    def amount(self, chips: int) -> int:
        return chips * self.per_chip


def hardware(pool: str, offering: str, catalog: Catalog) -> Hardware:
    """The Ray view of a pool whose chips are `offering`'s."""
    off = catalog.offering(offering)
    acc = catalog.accelerators[off.accelerator]
    per_chip = 1
    if acc.family == "trainium":   # Ray counts physical NeuronCores (the catalog's cores_per_chip)
        if acc.cores_per_chip < 2:
            known = sorted(a.id for a in catalog.accelerators.values()
                           if a.family == "trainium" and a.cores_per_chip > 1)
            raise UserError(f"NeuronCores per chip of {acc.id} are not known (set cores_per_chip in the catalog)",
                            field="accelerator", allowed=", ".join(known))
        per_chip = acc.cores_per_chip
    node_chips = min(off.unit_chips, max(TPU_CHIPS_PER_REQUEST)) if acc.family == "tpu" else off.unit_chips
    labels = {POOL_LABEL: label_value(pool), ACCELERATOR_LABEL: acc.id, PROVIDER_LABEL: off.provider,
              REGION_LABEL: off.region}
    return Hardware(RAY_RESOURCE[acc.family], per_chip, node_chips, labels)


@dataclass(frozen=True)
class NodeSpec:
    """One Ray node: `resources` and `labels` as `ray start` / `Cluster.add_node` take them."""

    pool: str
    index: int
    chips: int
    resources: dict
    labels: dict


def node_specs(chips: Mapping[str, int], offerings: Mapping[str, str], catalog: Catalog,
               node_chips: int | None = None) -> list[NodeSpec]:
    """Nodes holding `chips[pool]` chips of each pool (one node per `node_chips`, default one unit)."""
    out = []
    for pool, n in chips.items():
        hw = hardware(pool, offerings[pool], catalog)
        per = node_chips or hw.node_chips
        for i in range(math.ceil(int(n) / per)):
            c = min(per, int(n) - i * per)
            out.append(NodeSpec(pool, i, c, {hw.resource: float(hw.amount(c))}, dict(hw.labels)))
    return out


@dataclass(frozen=True)
class ReplicaSpec:
    """How one replica of a service runs on a pool: `hosts` actors of `resources` each."""

    service: str
    pool: str
    chips: int
    hosts: int
    resources: dict
    label_selector: dict

    @property
    def gang(self) -> bool:
        return self.hosts > 1


def replica_spec(service: str, pool: str, chips: int, hw: Hardware) -> ReplicaSpec:
    hosts = max(1, math.ceil(chips / hw.node_chips))
    per_host = chips // hosts
    if per_host * hosts != chips:
        raise UserError(f"a {chips}-chip replica of {service} does not split evenly over {hw.node_chips}-chip "
                        f"nodes of pool {pool}", field="chips")
    return ReplicaSpec(service, pool, chips, hosts, {hw.resource: float(hw.amount(per_host))},
                       {POOL_LABEL: hw.labels[POOL_LABEL]})


@dataclass(frozen=True)
class GangSpec:
    """A training gang: a placement group of `bundles` (one per node), all reserved at once or none."""

    workload: str
    pool: str
    chips: int
    bundles: tuple[dict, ...]
    label_selector: dict
    strategy: str = "STRICT_SPREAD"


def gang_spec(workload: str, pool: str, chips: int, hw: Hardware) -> GangSpec:
    hosts = max(1, math.ceil(chips / hw.node_chips))
    per = chips // hosts
    if per * hosts != chips:
        raise UserError(f"a {chips}-chip gang of {workload} does not split evenly over {hw.node_chips}-chip "
                        f"nodes of pool {pool}", field="chips")
    return GangSpec(workload, pool, chips, tuple({hw.resource: float(hw.amount(per))} for _ in range(hosts)),
                    {POOL_LABEL: hw.labels[POOL_LABEL]}, "STRICT_SPREAD" if hosts > 1 else "PACK")


def ray_spec(fleet, catalog: Catalog, gang_chips: Mapping[str, int]) -> dict:
    """A whole fleet placement (`place.FleetPlacement`, pools = offering ids) as Ray would run it: the nodes,
    replica actors per service and pool (with the routing weights), and training gangs."""
    pools = {p: int(c) for p, c in zip(fleet.pools, fleet.chips) if c > 0}
    hw = {p: hardware(p, p, catalog) for p in pools}
    doc: dict = {"nodes": [n.__dict__ for n in node_specs(pools, {p: p for p in pools}, catalog)],
                 "replicas": [], "gangs": [], "routing": {}}
    pl = fleet.inference
    if pl is not None:
        for s, p in zip(*np.nonzero(pl.replicas)):
            base = pl.pools[p].split("#")[0]
            spec = replica_spec(pl.services[s], base, int(pl.instance.chips[s, p]), hw[base])
            doc["replicas"].append({**spec.__dict__, "count": int(pl.replicas[s, p])})
        for svc, weights in routing_table(pl.services, pl.pools, pl.routing).items():
            folded: dict[str, float] = {}
            for pool, w in weights.items():
                folded[pool.split("#")[0]] = folded.get(pool.split("#")[0], 0.0) + w
            doc["routing"][svc] = folded
    for w, wl in enumerate(fleet.training_workloads):
        for p, chips in zip(fleet.pools, fleet.training_chips[w]):
            n = int(chips // gang_chips[wl]) if gang_chips.get(wl) else 0
            if n and p in hw:
                g = gang_spec(wl, p, int(gang_chips[wl]), hw[p])
                doc["gangs"].append({**g.__dict__, "bundles": list(g.bundles), "count": n})
    return doc

"""Write a placement as Kueue objects (kueue.x-k8s.io/v1beta2, Kueue's storage version).

- a ResourceFlavor per (chip, provider, region) in the fleet: the node labels that select those
  nodes (GKE TPU/GPU accelerator labels, else the instance type; always the region) and the taints
  the platform puts on them, with matching tolerations for admitted pods;
- a ClusterQueue per priority class with work (customer tiers and risk classes): one resource group
  per chip resource (`google.com/tpu`, `aws.amazon.com/neuron`, `nvidia.com/gpu`, `amd.com/gpu`),
  flavors ordered by that class's price/performance (USD per million tokens from the rate table, its
  workloads weighted by demand; infeasible flavors last), nominal quotas = the chips the placement
  gives the class on each flavor;
- one Cohort holding the chips no class uses (its own quota, which any class may borrow);
- lending limits that keep each class's survivability: a class that must keep share `s` of its
  service after a failure lends at most floor((1 - s) x quota) of each flavor. Borrowing is not
  limited: lent quota comes back by preemption (`reclaimWithinCohort: Any`), and protected classes
  may preempt lower-priority borrowers (`borrowWithinCohort: LowerPriority`);
- WorkloadPriorityClasses in class order, and a Namespace with a LocalQueue per class.

Quotas are whole chips: each flavor's chips are split over classes and the cohort by largest remainder,
so they add up to the fleet's chips exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import yaml

from ..catalog import Catalog
from . import names
from .placement import ScenarioPlacement

API = "kueue.x-k8s.io/v1beta2"
PRIORITY_STEP = 1000


@dataclass(frozen=True)
class Flavor:
    """One ResourceFlavor: the pools (offerings) it covers and what selects its nodes."""

    name: str
    accelerator: str
    provider: str
    region: str
    resource: str
    pools: tuple[str, ...]
    node_labels: dict
    taints: tuple[tuple[str, str, str], ...]


def flavors_of(sp: ScenarioPlacement, catalog: Catalog) -> list[Flavor]:
    """A flavor per (chip, provider, region) holding chips, in the fleet's pool order."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for pool in sp.pools:
        off = catalog.offering(pool)
        groups.setdefault((off.accelerator, off.provider, off.region), []).append(pool)
    out = []
    for (acc_id, prov, region), pools in groups.items():
        acc = catalog.accelerators[acc_id]
        instance = catalog.offering(pools[0]).instance
        labels = {"topology.kubernetes.io/region": region}
        taints: tuple = ()
        if prov == "gcp" and acc.family == "tpu" and acc_id in names.GKE_TPU_LABEL_OF:
            labels[names.TPU_ACCELERATOR_LABEL] = names.GKE_TPU_LABEL_OF[acc_id]
            taints = (names.TAINTS["tpu"],)
        elif prov == "gcp" and acc_id in names.GKE_GPU_LABEL_OF:
            labels[names.GKE_GPU_LABEL] = names.GKE_GPU_LABEL_OF[acc_id]
            taints = (names.TAINTS["gke-gpu"],)
        elif len({catalog.offering(p).instance for p in pools}) == 1:
            labels[names.INSTANCE_LABELS[0]] = instance
        out.append(Flavor(names.dns_label(f"{acc_id}-{prov}-{region}"), acc_id, prov, region, names.k8s_resource(acc),
                          tuple(pools), labels, taints))
    return out


def class_chips(sp: ScenarioPlacement) -> np.ndarray:
    """[classes, pools] chips each class holds: inference replicas split by the tier each serves,
    training chips to the training workload's class."""
    C, P = len(sp.classes), len(sp.pools)
    out = np.zeros((C, P))
    pl = sp.fleet.inference
    if pl is not None:
        chips = pl.replicas * pl.instance.chips                       # [s, pools of the placement]
        served = pl.served_tokens_per_s
        share = np.divide(served, served.sum(axis=1, keepdims=True), out=np.zeros_like(served),
                          where=served.sum(axis=1, keepdims=True) > 0)  # [s, k]
        by_tier = share.T @ chips                                     # [k, placement pools]
        col = {p: i for i, p in enumerate(sp.pools)}
        for j, pool in enumerate(pl.pools):                           # reserved '#training' pools fold back
            for k, tier in enumerate(pl.tiers):
                out[sp.classes.index(tier), col[pool.split("#")[0]]] += by_tier[k, j]
    for w, wl in enumerate(sp.fleet.training_workloads):
        out[sp.classes.index(sp.training_class[wl])] += sp.fleet.training_chips[w]
    return out


def whole_chips(shares: np.ndarray, total: int) -> np.ndarray:
    """Integers >= 0 adding up to `total`, proportional to `shares` (largest remainder)."""
    shares = np.maximum(np.asarray(shares, dtype=float), 0.0)
    if total <= 0 or shares.sum() <= 0:
        return np.zeros(len(shares), dtype=np.int64)
    exact = shares / shares.sum() * total
    out = np.floor(exact).astype(np.int64)
    rest = total - int(out.sum())
    order = np.argsort(-(exact - out), kind="stable")
    out[order[:rest]] += 1
    return out


def relative_cost(sp: ScenarioPlacement, cls: str) -> np.ndarray:
    """[pools] the class's price/performance on each pool: for each of its workloads, USD per million
    tokens there over that workload's best (1 = its cheapest pool), averaged with the workloads' shares in
    the class as weights; inf where none of its workloads is feasible (or priced)."""
    t = sp.table
    _, share = sp.scenario.class_shares()
    weight = share[:, list(sp.scenario.priority_classes()).index(cls)]
    cost = t.usd_per_million_tokens()[:, [t.o(p) for p in sp.pools]]       # [w, pools]
    rows = np.flatnonzero(weight > 0)
    c = cost[rows]
    ok = np.isfinite(c)
    best = np.where(ok, c, np.inf).min(axis=1, keepdims=True)
    rel = np.divide(c, best, out=np.zeros_like(c), where=ok & np.isfinite(best) & (best > 0))
    w = weight[rows, None] * ok
    with np.errstate(invalid="ignore", divide="ignore"):
        avg = (rel * w).sum(axis=0) / w.sum(axis=0)
    return np.where(w.sum(axis=0) > 0, avg, np.inf)


@dataclass(frozen=True)
class KueueExport:
    """The objects, and the quota table behind them (rows: class x flavor)."""

    objects: tuple[dict, ...]
    quotas: tuple[dict, ...]

    def to_yaml(self) -> str:
        """One multi-document YAML file (`kubectl apply -f`)."""
        return yaml.safe_dump_all(self.objects, sort_keys=False)


def export_kueue(sp: ScenarioPlacement, catalog: Catalog, *, cohort: str | None = None) -> KueueExport:
    """The Kueue objects for this placement (see the module docstring)."""
    flavors = flavors_of(sp, catalog)
    cohort = names.dns_label(cohort or f"polyfleet-{sp.scenario.name or 'fleet'}")
    held = class_chips(sp)                                              # [C, P]
    fleet = sp.fleet.chips
    C = len(sp.classes)
    quota = np.zeros((C + 1, len(flavors)), dtype=np.int64)             # last row: the cohort's idle chips
    for f, fl in enumerate(flavors):
        cols = [sp.pools.index(p) for p in fl.pools]
        used = held[:, cols].sum(axis=1)
        total = int(round(fleet[cols].sum()))
        quota[:, f] = whole_chips(np.r_[used, max(total - used.sum(), 0.0)], total)
    order = {c: relative_cost(sp, c) for c in sp.classes}
    objs: list[dict] = [_flavor_obj(fl) for fl in flavors]
    objs.append(_cohort_obj(cohort, flavors, quota[C]))
    rows = []
    for k, cls in enumerate(sp.classes):
        survive = sp.survive[cls]
        objs.append(_queue_obj(sp, cls, k, cohort, flavors, quota[k], order[cls], survive))
        rows += [{"class": cls, "flavor": fl.name, "resource": fl.resource, "nominal_chips": int(quota[k, f]),
                  "lending_limit": _lend(int(quota[k, f]), survive), "survive": survive}
                 for f, fl in enumerate(flavors) if quota[k, f] > 0]
    rows += [{"class": "(cohort)", "flavor": fl.name, "resource": fl.resource, "nominal_chips": int(quota[C, f]),
              "lending_limit": None, "survive": None} for f, fl in enumerate(flavors) if quota[C, f] > 0]
    for k, cls in enumerate(sp.classes):
        objs.append({"apiVersion": API, "kind": "WorkloadPriorityClass",
                     "metadata": {"name": names.dns_label(cls)}, "value": PRIORITY_STEP * (C - k),
                     "description": f"polyfleet class {cls}: keeps {sp.survive[cls]:.0%} after any single failure"})
    for cls in sp.classes:
        ns = names.dns_label(cls)
        objs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        objs.append({"apiVersion": API, "kind": "LocalQueue", "metadata": {"name": ns, "namespace": ns},
                     "spec": {"clusterQueue": ns}})
    return KueueExport(tuple(objs), tuple(rows))


def _lend(nominal: int, survive: float) -> int | None:
    """Most chips a class may lend and still keep `survive` of them: floor((1 - s) x quota); None = no limit."""
    return None if survive <= 0 else math.floor((1.0 - survive) * nominal + 1e-9)


def _flavor_obj(fl: Flavor) -> dict:
    spec: dict = {"nodeLabels": dict(fl.node_labels)}
    if fl.taints:
        spec["nodeTaints"] = [{"key": k, "value": v, "effect": e} for k, v, e in fl.taints]
        spec["tolerations"] = [{"key": k, "operator": "Equal", "value": v, "effect": e} for k, v, e in fl.taints]
    return {"apiVersion": API, "kind": "ResourceFlavor", "metadata": {"name": fl.name,
            "labels": {"polyfleet.io/accelerator": fl.accelerator, "polyfleet.io/provider": fl.provider}},
            "spec": spec}


def _cohort_obj(name: str, flavors: list[Flavor], idle: np.ndarray) -> dict:
    spec: dict = {}
    groups = _groups(flavors, idle, np.zeros(len(flavors)), None)
    if any(int(q) > 0 for q in idle):
        spec["resourceGroups"] = groups
    return {"apiVersion": API, "kind": "Cohort", "metadata": {"name": name}, "spec": spec}


def _groups(flavors: list[Flavor], quota: np.ndarray, rank: np.ndarray, survive: float | None) -> list[dict]:
    """One resource group per chip resource, flavors best-ranked first."""
    out = []
    for res in dict.fromkeys(fl.resource for fl in flavors):
        idx = sorted((f for f, fl in enumerate(flavors) if fl.resource == res), key=lambda f: (rank[f], f))
        entries = []
        for f in idx:
            r: dict = {"name": res, "nominalQuota": int(quota[f])}
            lend = _lend(int(quota[f]), survive) if survive is not None else None
            if lend is not None:
                r["lendingLimit"] = lend
            entries.append({"name": flavors[f].name, "resources": [r]})
        out.append({"coveredResources": [res], "flavors": entries})
    return out


def _queue_obj(sp: ScenarioPlacement, cls: str, k: int, cohort: str, flavors: list[Flavor], quota: np.ndarray,
               rel: np.ndarray, survive: float) -> dict:
    rank = np.array([min(rel[sp.pools.index(p)] for p in fl.pools) for fl in flavors])
    below = PRIORITY_STEP * (len(sp.classes) - k - 1)
    preemption = {"reclaimWithinCohort": "Any", "withinClusterQueue": "LowerPriority",
                  "borrowWithinCohort": {"policy": "LowerPriority", "maxPriorityThreshold": below}
                  if survive > 0 and below > 0 else {"policy": "Never"}}
    return {"apiVersion": API, "kind": "ClusterQueue", "metadata": {"name": names.dns_label(cls)},
            "spec": {"cohortName": cohort, "namespaceSelector": {"matchLabels": {
                "kubernetes.io/metadata.name": names.dns_label(cls)}},
                     "queueingStrategy": "BestEffortFIFO", "preemption": preemption,
                     "resourceGroups": _groups(flavors, quota, rank, survive)}}

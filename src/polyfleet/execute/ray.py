"""Run a placement on a Ray cluster and keep it running when nodes die.

`RayExecutor(placement, catalog).apply()` starts every replica of the inference placement as an actor
pinned to its pool (spec.py: the pool's accelerator resource and label) and every training gang as a
placement group (all its chips at once, or none). `check()` (or `run()`, a loop around it) reads the
cluster; when nodes died it

1. forgets the replicas and breaks the gangs that had a part on a dead node (Ray already lost them);
2. asks `place.failover` to re-place the inference placement on the chips each pool still has (minus
   what surviving gangs hold);
3. starts and stops exactly the difference between the failover's replica matrix and the replicas still
   running, per service and pool: a replica that survived and is still wanted is never touched;
4. re-creates the broken gangs on the chips inference left free (their pool first), all or nothing;
5. publishes the failover's routing weights (`routing()`, and `on_routing` if given).

Everything an event did is returned as a `Recovery` record, with times.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import ray
from ray.util.placement_group import placement_group, remove_placement_group

from ..catalog import Catalog
from ..place import Placement, failover, routing_table
from .spec import GangSpec, Hardware, ReplicaSpec, gang_spec, hardware, replica_spec


@ray.remote(num_cpus=0)
class ReplicaActor:
    """One inference replica (or one host of a multi-host replica) doing small real numpy work."""

    def __init__(self, service: str, pool: str, size: int = 32) -> None:
        self.service, self.pool = service, pool
        self.weights = np.random.default_rng(len(service) + len(pool)).standard_normal((size, size)) / size

    def ready(self) -> str:
        return ray.get_runtime_context().get_node_id()

    def serve(self, steps: int = 4) -> float:
        x = self.weights
        for _ in range(steps):
            x = np.tanh(x @ self.weights)
        return float(x.sum())


def _actor_resources(resources: dict) -> dict:
    """Actor options for a resource dict: Ray takes GPUs as `num_gpus`, the rest as custom resources."""
    rest = {k: v for k, v in resources.items() if k != "GPU"}
    return {**({"num_gpus": resources["GPU"]} if "GPU" in resources else {}), **({"resources": rest} if rest else {})}


@dataclass
class Replica:
    """A running replica: its actors (one per host), placement group if multi-host, and nodes."""

    id: str
    service: str
    pool: str
    actors: list
    pg: object | None = None
    nodes: tuple[str, ...] = ()


@dataclass
class Gang:
    """A running training gang: a placement group reserved on `nodes`."""

    id: str
    spec: GangSpec
    pg: object
    nodes: tuple[str, ...] = ()


@dataclass
class Recovery:
    """What one failover did. Times in seconds from when the loss was seen."""

    dead_nodes: tuple[str, ...]
    pool_chips: dict[str, int]
    placement: Placement
    stopped: list[str] = field(default_factory=list)          # replicas stopped on purpose
    lost: list[str] = field(default_factory=list)             # replicas that died with a node
    started: list[str] = field(default_factory=list)          # replicas started (and running)
    pending: list[str] = field(default_factory=list)          # started but not scheduled in time
    gangs_broken: list[str] = field(default_factory=list)
    gangs_restarted: list[str] = field(default_factory=list)
    gangs_pending: list[str] = field(default_factory=list)
    replace_s: float = 0.0
    running_s: float = 0.0


class RayExecutor:
    """Applies a placement to the Ray cluster `ray.init` connected to (see the module docstring).

    gangs: {training workload: [(pool, chips per gang), ...]} one entry per gang. ready_timeout_s: how
    long a start may take before it is reported pending. work_size: the actors' matrix size."""

    def __init__(self, placement: Placement, catalog: Catalog, *, gangs: Mapping[str, Sequence[tuple[str, int]]]
                 | None = None, ready_timeout_s: float = 120.0, work_size: int = 32,
                 on_routing: Callable[[dict], None] | None = None) -> None:
        self.placement = placement
        self.hw: dict[str, Hardware] = {p.id: hardware(p.id, p.offering, catalog) for p in placement.fleet.pools}
        self.gang_specs = [gang_spec(w, pool, chips, self.hw[pool]) for w, lst in (gangs or {}).items()
                           for pool, chips in lst]
        self.replicas: dict[tuple[str, str], list[Replica]] = {}
        self.gangs: list[Gang] = []
        self.ready_timeout_s = ready_timeout_s
        self.work_size = work_size
        self.on_routing = on_routing
        self.history: list[Recovery] = []
        self._serial = 0
        self._known_dead: set[str] = set()

    # ---- reading the cluster ------------------------------------------------------------------
    def pool_nodes(self) -> dict[str, list[int]]:
        """Chips of each alive node, per pool (read from the nodes' labels and resources)."""
        by_label = {hw.labels["polyfleet.io/pool"]: p for p, hw in self.hw.items()}
        out: dict[str, list[int]] = {p: [] for p in self.hw}
        for node in ray.nodes():
            pool = by_label.get((node.get("Labels") or {}).get("polyfleet.io/pool"))
            if node.get("Alive") and pool is not None:
                hw = self.hw[pool]
                out[pool].append(int(node.get("Resources", {}).get(hw.resource, 0) // hw.per_chip))
        return out

    def pool_chips(self) -> dict[str, int]:
        """Chips of each pool on the nodes alive now."""
        return {p: sum(chips) for p, chips in self.pool_nodes().items()}

    @staticmethod
    def dead_nodes() -> set[str]:
        return {n["NodeID"] for n in ray.nodes() if not n.get("Alive")}

    def running(self) -> dict[tuple[str, str], int]:
        """{(service, pool): replicas running} as the executor tracks them."""
        return {k: len(v) for k, v in self.replicas.items() if v}

    def routing(self) -> dict[str, dict[str, float]]:
        """Share of each service's traffic per pool, from the placement in force."""
        pl = self.placement
        return routing_table(pl.services, pl.pools, pl.routing)

    # ---- starting and stopping ------------------------------------------------------------------
    def _new_id(self, stem: str) -> str:
        self._serial += 1
        return f"{stem}#{self._serial}"

    def _launch(self, service: str, pool: str) -> Replica:
        spec: ReplicaSpec = replica_spec(service, pool, int(self._chips_per_replica(service, pool)), self.hw[pool])
        need = _actor_resources(spec.resources)
        opts = {**need, "label_selector": spec.label_selector}
        pg = None
        if spec.gang:
            pg = placement_group([dict(spec.resources)] * spec.hosts, strategy="STRICT_SPREAD",
                                 bundle_label_selector=[dict(spec.label_selector)] * spec.hosts)
            opts = {**need, "placement_group": pg}
        actors = [ReplicaActor.options(**opts, **({"placement_group_bundle_index": i} if pg else {})).remote(
            service, pool, self.work_size) for i in range(spec.hosts)]
        return Replica(self._new_id(f"{service}@{pool}"), service, pool, actors, pg)

    def _chips_per_replica(self, service: str, pool: str) -> int:
        pl = self.placement
        return int(pl.instance.chips[pl.services.index(service), pl.pools.index(pool)])

    def _stop(self, rep: Replica) -> None:
        for a in rep.actors:
            ray.kill(a, no_restart=True)
        if rep.pg is not None:
            remove_placement_group(rep.pg)

    def _wait(self, reps: list[Replica]) -> tuple[list[Replica], list[Replica]]:
        """Wait until every replica's actors answer; (running, pending after the timeout)."""
        refs = {a.ready.remote(): (r, i) for r in reps for i, a in enumerate(r.actors)}
        done, _ = ray.wait(list(refs), num_returns=len(refs), timeout=self.ready_timeout_s) if refs else ([], [])
        nodes: dict[str, list] = {r.id: [None] * len(r.actors) for r in reps}
        for ref in done:
            r, i = refs[ref]
            try:
                nodes[r.id][i] = ray.get(ref)
            except ray.exceptions.RayError:
                pass
        ok, pending = [], []
        for r in reps:
            if all(nodes[r.id]):
                r.nodes = tuple(nodes[r.id])
                ok.append(r)
            else:
                pending.append(r)
        return ok, pending

    def _start_gang(self, spec: GangSpec) -> Gang:
        pg = placement_group(list(spec.bundles), strategy=spec.strategy,
                             bundle_label_selector=[dict(spec.label_selector)] * len(spec.bundles))
        return Gang(self._new_id(f"{spec.workload}@{spec.pool}"), spec, pg)

    def _wait_gangs(self, gangs: list[Gang]) -> tuple[list[Gang], list[Gang]]:
        ok, pending = [], []
        for g in gangs:
            if g.pg.wait(timeout_seconds=int(max(self.ready_timeout_s, 1))):
                table = ray.util.placement_group_table(g.pg)
                g.nodes = tuple(table.get("bundles_to_node_id", {}).values())
                ok.append(g)
            else:
                remove_placement_group(g.pg)       # never left half-reserved: all bundles or none
                pending.append(g)
        return ok, pending

    # ---- applying and recovering ------------------------------------------------------------------
    def apply(self) -> dict:
        """Start every replica and gang of the placement; returns counts and the routing published."""
        pl = self.placement
        reps = [self._launch(pl.services[s], pl.pools[p]) for s, p in zip(*np.nonzero(pl.replicas))
                for _ in range(int(pl.replicas[s, p]))]
        gangs = [self._start_gang(g) for g in self.gang_specs]
        ok, pending = self._wait(reps)
        for r in ok:
            self.replicas.setdefault((r.service, r.pool), []).append(r)
        for r in pending:
            self._stop(r)
        self.gangs, gangs_pending = self._wait_gangs(gangs)
        self._publish()
        return {"replicas": len(ok), "pending": [r.id for r in pending], "gangs": len(self.gangs),
                "gangs_pending": [g.id for g in gangs_pending]}

    def check(self) -> Recovery | None:
        """Look at the cluster once; recover if nodes died since the last look."""
        dead = self.dead_nodes() - self._known_dead
        if not dead:
            return None
        self._known_dead |= dead
        ours = {n for reps in self.replicas.values() for r in reps for n in r.nodes} | \
               {n for g in self.gangs for n in g.nodes}
        if not dead & ours and all(c >= self._fleet_chips(p) for p, c in self.pool_chips().items()):
            return None                                      # a node we did not use, and no pool shrank
        return self.recover(dead)

    def _fleet_chips(self, pool: str) -> int:
        return int(self.placement.fleet.pools[self.placement.fleet.index(pool)].chips)

    def recover(self, dead: set[str]) -> Recovery:
        """Re-place after `dead` nodes are gone (see the module docstring)."""
        t0 = time.perf_counter()
        lost = []
        for key, reps in self.replicas.items():
            keep = [r for r in reps if not set(r.nodes) & dead]
            lost += [r for r in reps if set(r.nodes) & dead]
            self.replicas[key] = keep
        for r in lost:
            if r.pg is not None:
                remove_placement_group(r.pg)
        broken = [g for g in self.gangs if set(g.nodes) & dead]
        self.gangs = [g for g in self.gangs if g not in broken]
        for g in broken:
            remove_placement_group(g.pg)
        alive = self.pool_chips()
        held = {p: sum(g.spec.chips for g in self.gangs if g.spec.pool == p) for p in alive}
        chips = {p: max(alive[p] - held[p], 0) for p in alive if alive[p] - held[p] < self._fleet_chips(p)}
        new = failover(self.placement, chips=chips)
        rec = Recovery(tuple(sorted(dead)), alive, new, lost=[r.id for r in lost],
                       gangs_broken=[g.id for g in broken])
        starts = self._reconcile(new, rec)
        rec.replace_s = time.perf_counter() - t0
        self.placement = new
        specs, nowhere = self._refit(broken, alive, {p: len(n) for p, n in self.pool_nodes().items()})
        gangs = [self._start_gang(spec) for spec in specs]
        ok, pending = self._wait(starts)
        for r in ok:
            self.replicas.setdefault((r.service, r.pool), []).append(r)
            rec.started.append(r.id)
        for r in pending:
            self._stop(r)
            rec.pending.append(r.id)
        ok_g, pend_g = self._wait_gangs(gangs)
        self.gangs += ok_g
        rec.gangs_restarted = [g.id for g in ok_g]
        rec.gangs_pending = [g.spec.workload for g in pend_g] + nowhere
        rec.running_s = time.perf_counter() - t0
        self._publish()
        self.history.append(rec)
        return rec

    def _reconcile(self, new: Placement, rec: Recovery) -> list[Replica]:
        """Stop surplus replicas (newest first), then launch the missing ones; returns the launches."""
        want = {(svc, pool): int(new.replicas[s, p]) for s, svc in enumerate(new.services)
                for p, pool in enumerate(new.pools)}
        for key, have in self.replicas.items():
            while len(have) > want.get(key, 0):
                r = have.pop()
                self._stop(r)
                rec.stopped.append(r.id)
        return [self._launch(svc, pool) for (svc, pool), n in want.items()
                for _ in range(n - len(self.replicas.get((svc, pool), [])))]

    def _refit(self, broken: list[Gang], alive: dict[str, int], nodes: dict[str, int]
               ) -> tuple[list[GangSpec], list[str]]:
        """Specs for the broken gangs that fit the chips inference and surviving gangs leave free (their own
        pool first, then any pool with the same accelerator resource and enough nodes for one bundle each),
        and the workloads that fit nowhere."""
        used = {p: int(self.placement.chips_used[i]) for i, p in enumerate(self.placement.pools)}
        free = {p: alive[p] - used.get(p, 0) - sum(g.spec.chips for g in self.gangs if g.spec.pool == p)
                for p in alive}
        specs, nowhere = [], []
        for g in broken:
            home = g.spec.pool
            pool = next((p for p in [home] + sorted(set(free) - {home})
                         if free[p] >= g.spec.chips and self.hw[p].resource == self.hw[home].resource
                         and nodes.get(p, 0) >= len(g.spec.bundles)), None)
            if pool is None:
                nowhere.append(g.spec.workload)
                continue
            free[pool] -= g.spec.chips
            specs.append(g.spec if pool == home else gang_spec(g.spec.workload, pool, g.spec.chips, self.hw[pool]))
        return specs, nowhere

    def _publish(self) -> None:
        if self.on_routing is not None:
            self.on_routing(self.routing())

    def run(self, stop: threading.Event, poll_s: float = 0.2) -> None:
        """The controller loop: check the cluster every `poll_s` seconds until `stop` is set."""
        while not stop.wait(poll_s):
            self.check()

    def shutdown(self) -> None:
        """Stop every replica and gang this executor started."""
        for reps in self.replicas.values():
            for r in reps:
                self._stop(r)
        for g in self.gangs:
            remove_placement_group(g.pg)
        self.replicas, self.gangs = {}, []

"""Training clusters in the planning MILP: each windowed run on ONE cluster, whole, at one chip count.

For each windowed run w, candidate cluster c (its pool runs w, the run's pin allows c) and start
month s inside w's window (the run then holds its chips from s to its deadline):

  y[w,c,s]  binary: w runs on c from s              sum_{c,s} y[w,c,s] = 1
  z[w,c,s]  chips of w on c, constant from s        z[w,c,s] <= need[w,c,s] y[w,c,s]
  tokens:   sum z[w,c,s] x rate x goodput x months from s to the deadline >= the run's tokens

z enters the capacity row of c's pool in every month it runs, and a cluster row per month holds the
runs on c within the firm chips of c's sites. `need` is the chip count that makes the tokens
exactly, so the big-M is as tight as it can be; a (cluster, start) whose `max_chips` is below it is
no candidate. A later start needs more chips for fewer months: it pays when supply is still ramping
at the window's first month. A cluster whose sites fall in several pools (different rates) is split
by pool.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..scenario.clusters import DEFAULT_GOODPUT
from ..solvers import Assembler
from .blocks import CoreBlocks, Pools
from .inputs import Cluster, PlanInputs


def default_clusters(inp: PlanInputs) -> tuple[Cluster, ...]:
    """One single-site cluster per (accelerator, provider, region) of the planned offerings, no size limit."""
    f = inp.facts
    keys = list(dict.fromkeys(zip(f.accelerator, f.region)))
    return tuple(Cluster(id=f"{acc}@{reg}", mask=np.array([(a, r) == (acc, reg) for a, r in zip(f.accelerator,
                                                                                                  f.region)]))
                 for acc, reg in keys)


def split_by_pool(inp: PlanInputs, pools: Pools) -> tuple[list[Cluster], list[str], list[str]]:
    """(clusters the model uses, the id each came from, notes): clusters over several pools split."""
    base = inp.clusters if inp.clusters is not None else default_clusters(inp)
    out, origin, notes = [], [], []
    for c in base:
        ps = [int(p) for p in dict.fromkeys(pools.of[c.mask]) if p >= 0]
        if len(ps) > 1:
            notes.append(f"cluster {c.id} spans {len(ps)} pools of different rates: split into one cluster each "
                         f"({', '.join(f'{c.id}#{k + 1}' for k in range(len(ps)))})")
        for k, p in enumerate(ps):
            out.append(replace(c, id=c.id if len(ps) == 1 else f"{c.id}#{k + 1}", mask=c.mask & (pools.of == p)))
            origin.append(c.id)
    return out, origin, notes


@dataclass(frozen=True)
class ClusterBlocks:
    """The cluster columns and what reading them back needs. Axes: W workloads, L clusters, S start months,
    T months (S = T: a start is a month index)."""

    ids: tuple[str, ...]        # [L]
    origin: tuple[str, ...]     # [L] the cluster id each came from (before a split by pool)
    mask: np.ndarray            # [L, O] sites
    pool: np.ndarray            # [L]
    family: np.ndarray          # [L] family index
    max_chips: np.ndarray       # [L]
    cand: np.ndarray            # [W, L, S] columns for run w on cluster l from month s (fixed at 0 if too small)
    occ: np.ndarray             # [W, S, T] a run started in s runs in month t
    goodput: np.ndarray         # [W, L]
    need: np.ndarray            # [W, L, S] chips that make w's tokens (inf where not a candidate)
    rate: np.ndarray            # [W, L] tokens per chip-hour
    rate_s: np.ndarray          # [W, L] rate / w's best rate
    y: np.ndarray               # [W, L, S] binaries
    z: np.ndarray               # [W, L, S] chips
    notes: tuple[str, ...] = ()

    def spread(self) -> np.ndarray:
        """[W, L, S, T] 1 where z[w,l,s] holds chips in month t."""
        return np.broadcast_to(self.occ[:, None, :, :], self.cand.shape + self.occ.shape[-1:]).astype(float)

    def pool_chips(self, z: np.ndarray, P: int) -> np.ndarray:
        """[P, T] chips the runs hold on each pool each month, from z values [W, L, S]."""
        per_cluster = (np.where(self.cand, z, 0.0)[..., None] * self.spread()).sum(axis=(0, 2))     # [L, T]
        out = np.zeros((P, per_cluster.shape[1]))
        np.add.at(out, self.pool, per_cluster)
        return out

    def pace(self, a: Assembler, rows: np.ndarray, factor: np.ndarray) -> None:
        """rows[w, t] -= factor[w] (or factor[w, t]) x (w's cluster chips at its rate) in the months it runs."""
        f = np.broadcast_to(factor if np.ndim(factor) == 2 else np.asarray(factor)[:, None], rows.shape)
        vals = -(f[:, None, None, :] * self.rate_s[:, :, None, None]) * self.spread()
        a.coef(rows[:, None, None, :], self.z[..., None], vals)

    def port_rows(self, a: Assembler, b: np.ndarray, port_cost: np.ndarray) -> None:
        """A run on a cluster of a family it is not ported to needs the porting binary: y[w,l,s] <= b[w,f]."""
        bf = b[:, self.family]                                                  # [W, L]
        need = self.cand & ((port_cost[:, self.family] > 0) & (bf >= 0))[:, :, None]
        r = a.add_rows("port", need, hi=0.0, unit="runs", group="clusters")
        a.coef(r, self.y, 1.0)
        a.coef(r, np.broadcast_to(bf[:, :, None], need.shape), -1.0)


def candidates(inp: PlanInputs, pools: Pools, cl: list[Cluster], origin: list[str]) -> dict[str, np.ndarray]:
    """For the windowed runs: cand [W, L, S], occ [W, S, T], goodput [W, L], need [W, L, S], rate [W, L]."""
    W, L, T = inp.W, len(cl), inp.T
    pool = np.array([pools.of[np.flatnonzero(c.mask)[0]] for c in cl], dtype=int)
    rate = pools.rate[:, pool] if L else np.zeros((W, 0))
    cgp = np.array([c.goodput if c.goodput is not None else np.nan for c in cl])
    run_gp = inp.goodput if inp.goodput is not None else np.full(W, np.nan)
    gp = np.where(np.isfinite(run_gp)[:, None], run_gp[:, None], np.where(np.isfinite(cgp), cgp, DEFAULT_GOODPUT))
    occ = inp.window[:, None, :] & (np.arange(T)[None, None, :] >= np.arange(T)[None, :, None])   # [W, S, T]
    months = np.where(inp.window, occ.sum(axis=2), 0)                                            # [W, S]
    with np.errstate(divide="ignore", invalid="ignore"):
        need = inp.window_tokens[:, None, None] / (rate * gp)[:, :, None] / months[:, None, :]
    need = np.where((rate[:, :, None] > 0) & (months[:, None, :] > 0), need, np.inf)
    maxc = np.array([c.max_chips for c in cl])
    pins = inp.run_clusters or (None,) * W
    allowed = np.array([[p is None or o in p for o in origin] for p in pins], dtype=bool).reshape(W, L)
    cand = (inp.windowed[:, None] & allowed)[:, :, None] & np.isfinite(need)
    fits = cand & (need <= maxc[None, :, None] * (1 + 1e-9))
    return {"cand": cand, "fits": fits, "occ": occ, "goodput": gp, "need": np.where(cand, need, np.inf),
            "rate": rate, "pool": pool, "months": months}


def add_clusters(a: Assembler, inp: PlanInputs, core: CoreBlocks) -> ClusterBlocks | None:
    """Cluster columns and rows for every windowed run (None when there is none)."""
    if not inp.windowed.any():
        return None
    pools, T, W = core.pools, inp.T, inp.W
    cl, origin, notes = split_by_pool(inp, pools)
    c = candidates(inp, pools, cl, origin)
    # a (cluster, start) too small for the run keeps its columns, fixed at 0, so that every demand path of a
    # two-stage plan has the same first-stage binaries
    cand, need, pool, L = c["cand"], np.where(c["fits"], c["need"], 0.0), c["pool"], len(cl)
    y = a.add_cols("y_cl", cand, hi=c["fits"].astype(float), integer=True)
    z = a.add_cols("z_cl", cand, hi=need)
    w_ids = np.array(inp.workloads, dtype=object)
    ids = np.array([x.id for x in cl], dtype=object)
    ra = a.add_rows("cluster_assign", c["fits"].any(axis=(1, 2)), lo=1.0, hi=1.0, entity=w_ids, unit="runs")
    a.coef(ra[:, None, None], y, 1.0)
    rs = a.add_rows("cluster_size", cand, hi=0.0, entity=w_ids[:, None, None], unit="chips")
    a.coef(rs, z, 1.0)
    a.coef(rs, y, -need)
    rate_s = c["rate"] / pools.scale[:, None]
    wt = np.where(inp.windowed, inp.window_tokens / pools.scale, 0.0)
    rt = a.add_rows("window", inp.windowed, lo=wt, entity=w_ids, scale=pools.scale, unit="tokens/h-months",
                    elastic=True)
    a.coef(rt[:, None, None], z, (rate_s * c["goodput"])[:, :, None] * c["months"][:, None, :])
    mask = np.array([x.mask for x in cl]).reshape(L, inp.O)
    cb = ClusterBlocks(ids=tuple(ids), origin=tuple(origin), mask=mask, pool=pool,
                       family=pools.family[pool] if L else np.zeros(0, int),
                       max_chips=np.array([x.max_chips for x in cl], dtype=float), cand=cand, occ=c["occ"],
                       goodput=c["goodput"], need=c["need"], rate=c["rate"], rate_s=rate_s, y=y, z=z,
                       notes=tuple(notes))
    if L:
        on = cb.spread()                                                                   # [W, L, S, T]
        a.coef(core.rC[pool][None, :, None, :], z[..., None], on)                           # the pool's capacity
        busy = (cand[..., None] & c["occ"][:, None, :, :]).any(axis=(0, 2))                 # [L, T]
        rl = a.add_rows("cluster", busy, hi=0.0, entity=ids[:, None], month=np.arange(T)[None, :], unit="chips",
                        elastic=True)
        a.coef(rl[None, :, None, :], z[..., None], on)
        lo, oo = np.nonzero(mask)
        a.coef(rl[lo], core.F[oo], -1.0)
    return cb


def unplaceable_runs(inp: PlanInputs, pools: Pools) -> list[str]:
    """Windowed runs no cluster can carry, with the chips each needs and what the allowed clusters offer."""
    if not inp.windowed.any():
        return []
    cl, origin, _ = split_by_pool(inp, pools)
    c = candidates(inp, pools, cl, origin)
    pins = inp.run_clusters or (None,) * inp.W
    out = []
    for w in np.flatnonzero(inp.windowed & ~c["fits"].any(axis=(1, 2)) & (inp.rate > 0).any(axis=1)):
        ok = np.array([c["rate"][w, i] > 0 and (pins[w] is None or origin[i] in pins[w]) for i in range(len(cl))],
                      dtype=bool)
        if not ok.any():
            out.append(f"no allowed cluster can run training run {inp.workloads[w]} (allowed: "
                       f"{', '.join(pins[w]) if pins[w] else 'any'})")
            continue
        idx = np.flatnonzero(ok)
        need = inp.window_tokens[w] / (c["rate"][w, idx] * c["goodput"][w, idx] * max(c["months"][w].max(), 1))
        carries = np.array([cl[i].max_chips for i in idx], dtype=float)
        j = int(np.argmin(need / carries))            # the cluster closest to carrying it
        if not np.isfinite(carries[j]):
            out.append(f"no cluster can carry training run {inp.workloads[w]}: {cl[idx[j]].id} has no network "
                       "limit, but no start month leaves it the months it needs")
            continue
        out.append(f"no cluster can carry training run {inp.workloads[w]}: over its whole window it needs at least "
                   f"{need[j]:,.0f} chips on {cl[idx[j]].id}, which carries {carries[j]:,.0f} (the closest of "
                   f"{len(idx)} allowed clusters)")
    return out


@dataclass(frozen=True)
class RunsOnClusters:
    """A solved plan's clustered runs: chips per offering, tokens/h served, and one record per run."""

    allocation: np.ndarray      # [W, O, T] run chips on their cluster's sites (0 for other workloads)
    served: np.ndarray          # [W, T] tokens/h counted towards the run (at its goodput)
    by_pool: np.ndarray         # [W, P, T] run chips per pool
    records: list[dict]


def read_runs(inp: PlanInputs, cb: ClusterBlocks | None, z: np.ndarray | None, firm: np.ndarray,
              P: int) -> RunsOnClusters:
    """Each run's chips spread over its cluster's sites in proportion to their firm chips `firm` [O, T]."""
    W, O, T = inp.W, inp.O, inp.T
    alloc, served, by_pool, records = np.zeros((W, O, T)), np.zeros((W, T)), np.zeros((W, P, T)), []
    if cb is None or z is None:
        return RunsOnClusters(alloc, served, by_pool, records)
    z = np.where(cb.cand, np.maximum(z, 0.0), 0.0)
    for w in np.flatnonzero(inp.windowed & cb.cand.any(axis=(1, 2))):
        l, s = np.unravel_index(int(np.argmax(z[w])), z[w].shape)
        chips, on = float(z[w, l, s]), cb.occ[w, s].astype(float)
        site_firm = firm * cb.mask[l][:, None]
        tot = site_firm.sum(axis=0)
        alloc[w] = np.divide(site_firm, tot, out=np.zeros((O, T)), where=tot > 0) * chips * on[None, :]
        by_pool[w, cb.pool[l]] = chips * on
        served[w] = chips * cb.rate[w, l] * cb.goodput[w, l] * on
        records.append(_record(inp, cb, w, l, s, chips, alloc[w], served[w], int((z[w] > 1e-6).sum())))
    return RunsOnClusters(alloc, served, by_pool, records)


def _record(inp: PlanInputs, cb: ClusterBlocks, w: int, l: int, s: int, chips: float, alloc: np.ndarray,
            served: np.ndarray, used: int) -> dict:
    f = inp.facts
    o = np.flatnonzero(cb.mask[l])
    on = np.flatnonzero(alloc.sum(axis=1) > 1e-9)
    return {"run": inp.workloads[w], "cluster": cb.ids[l], "accelerator": f.accelerator[o[0]],
            "provider": f.provider[o[0]], "sites": [f.region[i] for i in o], "offerings": [f.ids[i] for i in o],
            "chips": chips, "max_chips": None if np.isinf(cb.max_chips[l]) else float(cb.max_chips[l]),
            "start": inp.months[s], "months": [inp.months[t] for t in np.flatnonzero(cb.occ[w, s])],
            "goodput": float(cb.goodput[w, l]), "tokens_per_chip_hour": float(cb.rate[w, l]),
            "hours_per_month": float(inp.hours), "tokens_required": float(inp.window_tokens[w] * inp.hours),
            "tokens_planned": float(served.sum() * inp.hours),
            "chips_by_offering": {f.ids[i]: alloc[i].tolist() for i in on}, "clusters_used": used}


__all__ = ["ClusterBlocks", "RunsOnClusters", "add_clusters", "default_clusters", "read_runs", "split_by_pool",
           "unplaceable_runs"]

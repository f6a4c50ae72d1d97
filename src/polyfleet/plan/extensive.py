"""The extensive form of a two-stage plan: one planning MILP per demand path, composed block-diagonally.

Path s keeps its own columns and rows (shifted into place); first-stage columns (what is signed before
demand is known) are tied to the reference path's by equality rows; demand and run-window rows of the
non-reference paths get an unmet-demand column priced at the value of lost tokens, so a path that
supply or power cannot serve shows its shortfall instead of making the whole plan infeasible. The
objective is sum_s p_s cost_s + weight x CVaR_alpha(cost_s) with the Rockafellar-Uryasev rows:
z_s = cost_s (USD millions), e_s >= z_s - eta, CVaR = eta + sum_s p_s e_s / (1 - alpha).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..solvers import Milp, RowBlock
from .blocks import PlanMilp
from .inputs import C1, C3, OD, SPOT, PlanInputs

COST_SCALE = 1e6                     # CVaR rows and columns in USD millions
RISK_COLS = ("eta", "e:")            # the scenario's own loss-CVaR columns: not part of a path's cost
LAST_RESORT = 2.0                    # unmet demand costs at least twice its cheapest on-demand service


@dataclass
class Extensive:
    """The composed model and where each path's block sits in it."""

    milp: Milp
    models: list[PlanMilp]
    prob: np.ndarray                 # [S]
    col_start: np.ndarray            # [S] first column of each path's block
    row_start: np.ndarray            # [S] first row of each path's block
    unmet: list[np.ndarray]          # per path: column index of each unmet slack (empty for the reference)
    unmet_rows: list[np.ndarray]     # per path: the (path-local) row each slack relaxes
    unmet_usd: list[np.ndarray]      # per path: USD per unit of each slack
    unmet_tokens: list[np.ndarray]   # per path: tokens per unit of each slack
    path_cost: list[np.ndarray]      # per path: [cols] the objective coefficients that make up its cost
    z: np.ndarray | None             # [S] cost columns (USD millions) when the CVaR term is on
    inputs: list[PlanInputs]         # per path
    ref: int                         # the reference path (failure sets, the printed plan)
    first: tuple[str, ...]           # first-stage column names

    def cols_of(self, s: int) -> slice:
        return slice(int(self.col_start[s]), int(self.col_start[s]) + self.models[s].num_cols)

    def cost_of(self, s: int, x: np.ndarray) -> float:
        """What path s costs in the objective at point x: its payments and the price of its unmet demand."""
        return self.paid(s, x) + self.unmet_cost(s, x)

    def paid(self, s: int, x: np.ndarray) -> float:
        """USD path s pays at point x (its units, porting and the constant payments of the fleet held)."""
        return float(self.path_cost[s] @ x[self.cols_of(s)]) + self.models[s].offset

    def unmet_cost(self, s: int, x: np.ndarray) -> float:
        """The price of path s's unmet demand at point x (USD; not paid, lost)."""
        return float(self.unmet_usd[s] @ x[self.unmet[s]])


def first_stage(model: PlanMilp, names: tuple[str, ...]) -> np.ndarray:
    """Column indices signed before demand is known: `n` means its 1y/3y commitment starts; any other name
    all of that column block (names the model lacks are skipped: a scenario without contracts has no `cu`)."""
    out = []
    for name in names:
        if name not in model.cols:
            continue
        idx = model.cols[name][:, [C1, C3], :] if name == "n" else model.cols[name]
        out.append(idx[idx >= 0].ravel())
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def unmet_rows(inp: PlanInputs, model: PlanMilp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inference demand rows, USD and tokens per unit of slack on each). A row unit is the workload's best
    rate in tokens/h for a month. Unmet demand is a last resort, for a path that supply or power cannot
    serve: it costs the value of lost tokens (risk.loss_usd_per_million_tokens), and never less than
    `LAST_RESORT` x the cheapest price of serving the token on demand. Training runs are never left unmet:
    they are the company's own plan, not a market's demand."""
    value = unmet_usd_per_mtok(inp)
    scale = model.blocks.pools.scale                                                 # [W] tokens/h per row unit
    w_of = {w: i for i, w in enumerate(inp.workloads)}
    rows, tokens, usd = [np.zeros(0, int)], [np.zeros(0)], [np.zeros(0)]
    for b in (b for b in model.row_blocks if b.kind == "demand"):
        wi = np.array([w_of[e] for e in b.entity], dtype=int)
        keep = np.array([inp.kinds[w] == "inference" for w in wi], dtype=bool)
        rows.append(b.rows[keep])
        tokens.append(scale[wi[keep]] * inp.hours)
        usd.append(tokens[-1] * value[wi[keep]] / 1e6)
    return np.concatenate(rows), np.concatenate(usd), np.concatenate(tokens)


def unmet_usd_per_mtok(inp: PlanInputs) -> np.ndarray:
    """[W] USD per million unmet tokens: max(the classes' value of lost tokens, LAST_RESORT x the cheapest
    on-demand USD per million tokens among the offerings that can serve the workload) - a token is taken to
    be worth at least twice what serving it costs at the best on-demand price (an assumption, noted)."""
    value = inp.class_share @ inp.loss_usd_per_mtok
    od = inp.price[:, OD]
    ok = (inp.rate > 0) & np.isfinite(od)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        per_mtok = np.where(ok, od[None, :] / inp.rate * 1e6, np.inf)
    cheapest = np.where(ok.any(axis=1), per_mtok.min(axis=1, initial=np.inf), 0.0)
    return np.maximum(value, LAST_RESORT * cheapest)


def compose(inps: list[PlanInputs], models: list[PlanMilp], prob: np.ndarray, ref: int,
            first: tuple[str, ...] = ("n",), alpha: float = 0.9, weight: float = 0.0,
            integer_recourse: bool = False) -> Extensive:
    """The extensive form (see the module note). Second-stage on-demand/spot units of the non-reference
    paths are continuous unless `integer_recourse`."""
    S = len(models)
    ncol = np.array([m.num_cols for m in models])
    nrow = np.array([m.num_rows for m in models])
    c0 = np.concatenate([[0], np.cumsum(ncol)])
    r0 = np.concatenate([[0], np.cumsum(nrow)])
    cost, integer, path_cost = [], [], []
    for s, m in enumerate(models):
        own = _path_cost_vector(m)
        path_cost.append(own)
        cost.append(own * prob[s] + (m.cost - own))          # the scenario's loss-CVaR columns keep their weight
        integer.append(_integrality(m, s == ref, first, integer_recourse))
    slack_rows, slack_usd, slack_tok, unmet, local_rows = [], [], [], [], []
    nxt = int(c0[-1])
    for s, m in enumerate(models):
        rows, usd, tok = unmet_rows(inps[s], m) if s != ref else (np.zeros(0, int), np.zeros(0), np.zeros(0))
        slack_tok.append(tok)
        unmet.append(np.arange(nxt, nxt + len(rows)))
        local_rows.append(rows)
        slack_rows.append(rows + r0[s])
        slack_usd.append(usd)
        nxt += len(rows)
    A = sp.block_diag([m.A for m in models], format="csc")
    n_slack = nxt - int(c0[-1])
    i, j, v = [np.concatenate(slack_rows)], [np.arange(n_slack)], [np.ones(n_slack)]
    for s, m in enumerate(models):
        si, sj, sv = _survive_on_served(inps[s], m, local_rows[s], unmet[s] - int(c0[-1]))
        i, j, v = i + [si + r0[s]], j + [sj], v + [sv]
    slack_A = sp.csc_matrix((np.concatenate(v), (np.concatenate(i), np.concatenate(j))),
                            shape=(int(r0[-1]), n_slack))
    A = sp.hstack([A, slack_A], format="csc")
    parts = _Parts(A, np.concatenate([*cost, *(u * p for u, p in zip(slack_usd, prob))]),
                   np.concatenate([*(m.col_lo for m in models), np.zeros(n_slack)]),
                   np.concatenate([*(m.col_hi for m in models), np.full(n_slack, np.inf)]),
                   np.concatenate([m.row_lo for m in models]), np.concatenate([m.row_hi for m in models]),
                   np.concatenate([*integer, np.zeros(n_slack, bool)]), _blocks(models, r0))
    _tie(parts, models, c0, ref, first)
    z = _cvar(parts, models, c0, path_cost, unmet, slack_usd, prob, alpha, weight) if weight > 0 else None
    offset = float(sum(prob[s] * m.offset for s, m in enumerate(models)))
    milp = Milp(A=parts.A.tocsc(), cost=parts.cost, col_lo=parts.lo, col_hi=parts.hi, row_lo=parts.rlo,
                row_hi=parts.rhi, integer=parts.integer, offset=offset, cols={}, row_blocks=parts.blocks)
    return Extensive(milp, models, prob, c0[:-1], r0[:-1], unmet, local_rows, slack_usd, slack_tok, path_cost, z,
                     inps, ref, first)


def _survive_on_served(inp: PlanInputs, m: PlanMilp, demand_rows: np.ndarray,
                       slack: np.ndarray) -> tuple[np.ndarray, ...]:
    """Triplets that make a non-reference path's survivability rows (security on every path) ask for the
    required share of the demand it *serves*: sum y rate + req_w u >= req_w need, u its unmet slack."""
    w_of = {w: i for i, w in enumerate(inp.workloads)}
    T = inp.T

    def keys(kind: str) -> tuple[np.ndarray, np.ndarray]:
        bl = [b for b in m.row_blocks if b.kind == kind]
        if not bl:
            return np.zeros(0, int), np.zeros(0, int)
        rows = np.concatenate([b.rows for b in bl])
        w = np.array([w_of[e] for b in bl for e in b.entity], dtype=int)
        return rows, w * T + np.concatenate([b.month for b in bl])

    d_rows, d_key = keys("demand")
    slack_of = np.full(inp.W * T, -1)
    row_key = np.full(m.num_rows, -1)
    row_key[d_rows] = d_key
    slack_of[row_key[demand_rows]] = slack
    s_rows, s_key = keys("survive")
    col = slack_of[s_key] if len(s_key) else np.zeros(0, int)
    ok = col >= 0
    return s_rows[ok], col[ok], inp.required_w()[s_key[ok] // T]


@dataclass
class _Parts:
    A: sp.spmatrix
    cost: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    rlo: np.ndarray
    rhi: np.ndarray
    integer: np.ndarray
    blocks: list[RowBlock]

    def add(self, A_rows: sp.spmatrix, rlo: np.ndarray, rhi: np.ndarray, kind: str, cols: int = 0,
            cost: np.ndarray | None = None, lo=0.0, hi=np.inf) -> None:
        """Append `cols` new columns, then rows A_rows (over all columns) with bounds."""
        if cols:
            self.A = sp.hstack([self.A, sp.csc_matrix((self.A.shape[0], cols))], format="csc")
            self.cost = np.concatenate([self.cost, cost if cost is not None else np.zeros(cols)])
            self.lo = np.concatenate([self.lo, np.broadcast_to(lo, cols)])
            self.hi = np.concatenate([self.hi, np.broadcast_to(hi, cols)])
            self.integer = np.concatenate([self.integer, np.zeros(cols, bool)])
        start = self.A.shape[0]
        self.A = sp.vstack([self.A, A_rows], format="csc")
        self.rlo, self.rhi = np.concatenate([self.rlo, rlo]), np.concatenate([self.rhi, rhi])
        k = len(rlo)
        if k:
            self.blocks.append(RowBlock(kind, start, k, np.full(k, kind, object), np.full(k, -1), np.ones(k),
                                        "USD millions" if kind.startswith("cvar") else "units"))


def _path_cost_vector(m: PlanMilp) -> np.ndarray:
    """The objective coefficients of a path's own payments (its loss-CVaR columns left out)."""
    own = m.cost.copy()
    for name, idx in m.cols.items():
        if name == "eta" or name.startswith("e:"):
            own[idx[idx >= 0]] = 0.0
    return own


def _integrality(m: PlanMilp, is_ref: bool, first: tuple[str, ...], integer_recourse: bool) -> np.ndarray:
    """Integer flags of a path's block: the reference keeps all; elsewhere first-stage columns are integral
    through their tie, and on-demand/spot units only with `integer_recourse`."""
    out = m.integer.copy()
    if is_ref:
        return out
    out[first_stage(m, first)] = False
    if not integer_recourse:
        n = m.cols["n"][:, [OD, SPOT], :]
        out[n[n >= 0]] = False
    return out


def _blocks(models: list[PlanMilp], r0: np.ndarray) -> list[RowBlock]:
    out = []
    for s, m in enumerate(models):
        for b in m.row_blocks:
            out.append(RowBlock(b.kind, b.start + int(r0[s]), b.count, b.entity, b.month, b.scale, b.unit, b.elastic,
                                f"path {s}" + (f" {b.group}" if b.group else "")))
    return out


def _tie(parts: _Parts, models: list[PlanMilp], c0: np.ndarray, ref: int, first: tuple[str, ...]) -> None:
    """Nonanticipativity: x_s[j] - x_ref[j] = 0 for every first-stage column j of every other path."""
    base = first_stage(models[ref], first)
    rows, cols, vals = [], [], []
    k = 0
    for s, m in enumerate(models):
        if s == ref:
            continue
        mine = first_stage(m, first)
        if len(mine) != len(base):
            raise ValueError("paths differ in their first-stage columns")
        r = np.arange(k, k + len(base))
        rows += [r, r]
        cols += [mine + c0[s], base + c0[ref]]
        vals += [np.ones(len(base)), -np.ones(len(base))]
        k += len(base)
    if not k:
        return
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(k, parts.A.shape[1]))
    parts.add(A, np.zeros(k), np.zeros(k), "nonanticipativity")


def _cvar(parts: _Parts, models, c0, path_cost, unmet, slack_usd, prob, alpha, weight) -> np.ndarray:
    """z_s (path cost, USD millions), eta and e_s with the Rockafellar-Uryasev rows; returns z's indices."""
    S = len(models)
    n0 = parts.A.shape[1]
    z, eta, e = np.arange(n0, n0 + S), n0 + S, np.arange(n0 + S + 1, n0 + 2 * S + 1)
    ncol = n0 + 2 * S + 1
    cost = np.concatenate([np.zeros(S), [weight * COST_SCALE], weight * COST_SCALE * prob / (1 - alpha)])
    lo = np.concatenate([np.full(S, -np.inf), [-np.inf], np.zeros(S)])
    rows, cols, vals = [], [], []
    for s, m in enumerate(models):
        j = np.flatnonzero(path_cost[s])
        rows += [np.full(len(j), s), np.full(len(unmet[s]), s), [s]]
        cols += [j + c0[s], unmet[s], [z[s]]]
        vals += [path_cost[s][j] / COST_SCALE, slack_usd[s] / COST_SCALE, [-1.0]]
    off = np.array([-m.offset / COST_SCALE for m in models])
    rows += [np.arange(S, 2 * S)] * 3
    cols += [e, z, np.full(S, eta)]
    vals += [np.ones(S), -np.ones(S), np.ones(S)]
    A = sp.csr_matrix((np.concatenate(vals).astype(float), (np.concatenate(rows).astype(int),
                                                            np.concatenate(cols).astype(int))), shape=(2 * S, ncol))
    parts.add(A, np.concatenate([off, np.zeros(S)]), np.concatenate([off, np.full(S, np.inf)]), "cvar_path",
              cols=2 * S + 1, cost=cost, lo=lo, hi=np.inf)
    return z

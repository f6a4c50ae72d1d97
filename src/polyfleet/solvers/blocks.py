"""LP/MILP models in bulk: labelled column and row blocks, coefficients as numpy triplets, one CSC matrix.

`Assembler` builds a `Milp` the way linopy does, one labelled block at a time: `add_cols("x", present)`
returns an index array shaped like `present` (-1 where there is no column), and `coef(rows, cols, vals)`
broadcasts a whole block of coefficients in one call; nothing here loops over coefficients. Callers
with a fixed column structure (placement, allocation) may fill a `Milp` from their own CSC arrays.

Row blocks keep what the diagnosis and the binding-constraint report need: a kind, an entity
label and a month per row, the factor that turns a row's units into natural units, and
whether the row may be relaxed when the model is infeasible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.sparse as sp

INF = np.inf


@dataclass
class RowBlock:
    kind: str
    start: int
    count: int
    entity: np.ndarray                 # [count] str: what the row is about
    month: np.ndarray                  # [count] int, -1 = no month
    scale: np.ndarray                  # [count] natural units per row unit
    unit: str
    elastic: bool = False              # relaxed (with a penalised slack) by the diagnosis
    group: str = ""                    # e.g. the failure set a survivability row belongs to

    @property
    def rows(self) -> np.ndarray:
        return np.arange(self.start, self.start + self.count)


@dataclass
class Milp:
    """An LP or MILP, ready for HiGHS: row_lo <= A x <= row_hi, col_lo <= x <= col_hi, x integer where
    `integer`; objective cost . x + offset, minimised (or maximised with sense="max")."""

    A: sp.csc_matrix
    cost: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    row_lo: np.ndarray
    row_hi: np.ndarray
    integer: np.ndarray                # bool per column
    offset: float = 0.0
    cols: dict[str, np.ndarray] = field(default_factory=dict)   # name -> index array (-1 = no column)
    row_blocks: list[RowBlock] = field(default_factory=list)
    build_seconds: float = 0.0
    sense: Literal["min", "max"] = "min"

    @property
    def num_cols(self) -> int:
        return len(self.cost)

    @property
    def num_rows(self) -> int:
        return len(self.row_lo)

    def blocks(self, kind: str) -> list[RowBlock]:
        return [b for b in self.row_blocks if b.kind == kind]

    def value(self, name: str, x: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """Column values shaped like the named index array (`fill` where no column exists)."""
        idx = self.cols[name]
        out = np.full(idx.shape, fill, dtype=float)
        ok = idx >= 0
        out[ok] = x[idx[ok]]
        return out

    def with_rows(self, lo: float, hi: float, cols: np.ndarray, vals: np.ndarray) -> "Milp":
        """A copy with one more row lo <= sum vals x[cols] <= hi (e.g. a bound added between stages)."""
        row = sp.csr_matrix((np.asarray(vals, float), (np.zeros(len(cols), np.int64), np.asarray(cols))),
                            shape=(1, self.num_cols))
        return Milp(A=sp.vstack([self.A, row], format="csc"), cost=self.cost, col_lo=self.col_lo,
                    col_hi=self.col_hi, row_lo=np.append(self.row_lo, lo), row_hi=np.append(self.row_hi, hi),
                    integer=self.integer, offset=self.offset, cols=self.cols, row_blocks=self.row_blocks,
                    build_seconds=self.build_seconds, sense=self.sense)


class Assembler:
    """Collects columns, rows and coefficient triplets; `finish()` returns a `Milp`."""

    def __init__(self) -> None:
        self._cost: list[np.ndarray] = []
        self._lo: list[np.ndarray] = []
        self._hi: list[np.ndarray] = []
        self._int: list[np.ndarray] = []
        self.ncol = 0
        self._rlo: list[np.ndarray] = []
        self._rhi: list[np.ndarray] = []
        self.nrow = 0
        self._i: list[np.ndarray] = []
        self._j: list[np.ndarray] = []
        self._v: list[np.ndarray] = []
        self.cols: dict[str, np.ndarray] = {}
        self.blocks: list[RowBlock] = []

    def add_cols(self, name: str, present: np.ndarray, *, cost=0.0, lo=0.0, hi=INF,
                 integer: bool = False) -> np.ndarray:
        """Columns where `present` is true; returns an index array shaped like `present` (-1 = absent).
        cost/lo/hi broadcast to that shape."""
        present = np.asarray(present, dtype=bool)
        n = int(present.sum())
        idx = np.full(present.shape, -1, dtype=np.int64)
        idx[present] = np.arange(self.ncol, self.ncol + n)
        for store, val in ((self._cost, cost), (self._lo, lo), (self._hi, hi)):
            store.append(np.broadcast_to(np.asarray(val, dtype=float), present.shape)[present].copy())
        self._int.append(np.full(n, integer))
        self.ncol += n
        self.cols[name] = idx
        return idx

    def add_rows(self, kind: str, present: np.ndarray, *, lo=-INF, hi=INF, entity="", month=-1, scale=1.0,
                 unit: str = "", elastic: bool = False, group: str = "") -> np.ndarray:
        """Rows where `present` is true; returns an index array shaped like `present` (-1 = absent)."""
        present = np.asarray(present, dtype=bool)
        n = int(present.sum())
        idx = np.full(present.shape, -1, dtype=np.int64)
        idx[present] = np.arange(self.nrow, self.nrow + n)
        pick = lambda v, dt=float: np.broadcast_to(np.asarray(v, dtype=dt), present.shape)[present].copy()  # noqa: E731
        self._rlo.append(pick(lo))
        self._rhi.append(pick(hi))
        if n:
            self.blocks.append(RowBlock(kind, self.nrow, n, pick(entity, object), pick(month, np.int64),
                                        pick(scale), unit, elastic, group))
        self.nrow += n
        return idx

    def coef(self, rows, cols, vals=1.0) -> None:
        """Add A[rows, cols] += vals (broadcast); entries with a missing row or column are dropped."""
        rows, cols = np.broadcast_arrays(np.asarray(rows), np.asarray(cols))
        vals = np.broadcast_to(np.asarray(vals, dtype=float), rows.shape)
        ok = (rows >= 0) & (cols >= 0) & (vals != 0)
        if ok.any():
            self._i.append(rows[ok].astype(np.int64))
            self._j.append(cols[ok].astype(np.int64))
            self._v.append(vals[ok].astype(float))

    def finish(self, offset: float = 0.0) -> Milp:
        cat = lambda parts, dt=float: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt)  # noqa: E731
        i, j, v = cat(self._i, np.int64), cat(self._j, np.int64), cat(self._v)
        A = sp.coo_matrix((v, (i, j)), shape=(self.nrow, self.ncol)).tocsc()
        A.sum_duplicates()
        return Milp(A=A, cost=cat(self._cost), col_lo=cat(self._lo), col_hi=cat(self._hi),
                    row_lo=cat(self._rlo), row_hi=cat(self._rhi), integer=cat(self._int, bool), offset=offset,
                    cols=self.cols, row_blocks=self.blocks)


def band(T: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (t, s) with 0 <= t - s < length: month t holds what was started in month s."""
    t, s = np.meshgrid(np.arange(T), np.arange(T), indexing="ij")
    keep = (t - s >= 0) & (t - s < length)
    return t[keep], s[keep]

"""The scenario: one YAML file that ties a run together (see `load.py` to read one).

Every section is optional except `workloads`. Engines read their own sections (`fleet:`
for placement, `faults:` and `simulation:` for the simulator): a class per section and a
field here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, PrivateAttr, field_validator

from ..datafile import DataFile, field_path
from ..errors import UserError
from .checks import check_scenario
from .clusters import ClusterSpec
from .context import build_context, select_offerings
from .contracts import Contract
from .faults import Faults
from .policy import Money, Power, Risk, Supply
from .sections import FleetEntry, Horizon, OfferingFilter, RateOverride, Section, Tenant, Workloads
from .series import month_labels
from .simulation import SimOptions
from .uncertainty import Uncertainty

CATALOG_SECTIONS = ("files", "sources", "accelerators", "runtimes", "providers", "regions", "offerings")


class Scenario(Section):
    """A planning scenario. Build with `load_scenario(path_or_name)` (or `Scenario.model_validate(dict)`)."""

    name: str = ""
    description: str = ""
    horizon: Horizon = Horizon()
    catalog: dict[str, Any] = Field(default_factory=dict, description="catalog overrides: `files:` (paths "
                                    "relative to the scenario) and/or inline sections as in a catalog override "
                                    "file (sources, accelerators, providers, regions, offerings)")
    models: tuple[dict[str, Any], ...] = Field(default=(), description="extra model definitions (as models.yaml)")
    model_files: tuple[str, ...] = ()
    offerings: OfferingFilter = OfferingFilter()
    workloads: Workloads
    tenants: tuple[Tenant, ...] = ()
    fleet: tuple[FleetEntry, ...] = ()
    supply: Supply = Supply()
    power: Power = Power()
    money: Money = Money()
    risk: Risk = Risk()
    rates: tuple[RateOverride, ...] = ()
    faults: Faults = Faults()
    simulation: SimOptions = SimOptions()
    uncertainty: Uncertainty = Uncertainty()
    contracts: tuple[Contract, ...] = Field(default=(), description="capacity deals: delivery schedules, "
                                            "take-or-pay, terms, options, cancellation (scenario/contracts.py)")
    clusters: tuple[ClusterSpec, ...] = Field(default=(), description="training clusters (scenario/clusters.py); "
                                              "default: one per accelerator, provider and region")

    _doc: DataFile | None = PrivateAttr(default=None)
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _ctx: Any = PrivateAttr(default=None)

    @field_validator("catalog")
    @classmethod
    def _catalog_keys(cls, v: dict[str, Any]) -> dict[str, Any]:
        bad = sorted(set(v) - set(CATALOG_SECTIONS))
        if bad:
            raise ValueError(f"unknown catalog section '{bad[0]}' (allowed: {', '.join(CATALOG_SECTIONS)})")
        return v

    # ---- where things came from -------------------------------------------------------
    @property
    def source_name(self) -> str:
        return self._doc.name if self._doc is not None else (self.name or "scenario")

    def where(self, loc: tuple = ()) -> str:
        """`file:line` of the value at `loc`, for error messages."""
        return self._doc.where(loc) if self._doc is not None else self.source_name

    @property
    def base_dir(self) -> Path:
        return self._base_dir

    # ---- time ---------------------------------------------------------------------------
    @property
    def months(self) -> tuple[str, ...]:
        return month_labels(self.horizon.start, self.horizon.months)

    def expand(self, series, loc: tuple) -> np.ndarray:
        """A Series over the horizon; a wrong length is a UserError at its file:line."""
        try:
            return series.expand(self.horizon.start, self.horizon.months)
        except ValueError as exc:
            raise UserError(str(exc), where=self.where(loc), field=field_path(loc)) from None

    def service_tokens_per_s(self, peak: bool = False) -> np.ndarray:
        """[services, months] output tokens/s, monthly mean; with `peak`, times each service's
        peak_factor (what capacity is sized for)."""
        svcs = self.workloads.services
        out = np.zeros((len(svcs), self.horizon.months))
        for i, svc in enumerate(svcs):
            out[i] = self.expand(svc.tokens_per_s, ("workloads", "services", i, "tokens_per_s"))
            if peak:
                out[i] *= svc.peak_factor
        return out

    # ---- classes ----------------------------------------------------------------------
    def priority_classes(self) -> dict[str, float]:
        """Every priority class -> required survivability share: risk classes, then tenant tiers."""
        out = self.risk.required()
        for t in self.tenants:
            out[t.id] = t.survive
        return out

    def tenant_share(self, i: int, service: str) -> np.ndarray:
        """[months] tenant i's share of a service's traffic, month by month."""
        t = self.tenants[i]
        v = t.share_series(service)
        if isinstance(v, (int, float)):
            return np.full(self.horizon.months, float(v))
        key = service if isinstance(t.share, dict) and service in t.share else "default"
        loc = ("tenants", i, "share") + ((key,) if isinstance(t.share, dict) else ())
        return self.expand(v, loc)

    def tenant_customers(self, i: int) -> np.ndarray | None:
        """[months] tenant i's accounts, month by month (None: not given)."""
        c = self.tenants[i].customers
        if c is None:
            return None
        if isinstance(c, int):
            return np.full(self.horizon.months, float(c))
        return np.round(self.expand(c, ("tenants", i, "customers")))

    def customers_now(self, i: int) -> int | None:
        """Tenant i's accounts in the horizon's first month (what the simulator and the service draw)."""
        c = self.tenant_customers(i)
        return None if c is None else int(c[0])

    def class_shares_t(self) -> tuple[list[str], np.ndarray]:
        """Classes and the share of each workload's demand in each class, month by month [workloads,
        classes, months]; what the tenants leave of a service is in the workload's own class."""
        classes = list(self.priority_classes())
        wls = self.workloads.all()
        T = self.horizon.months
        share = np.zeros((len(wls), len(classes), T))
        for i, w in enumerate(wls):
            rest = np.ones(T)
            if i < len(self.workloads.services):
                for j, t in enumerate(self.tenants):
                    s = self.tenant_share(j, w.id)
                    share[i, classes.index(t.id)] += s
                    rest -= s
            share[i, classes.index(w.priority)] += np.where(rest > 1e-9, rest, 0.0)
        return classes, share

    def class_shares(self) -> tuple[list[str], np.ndarray]:
        """Classes and each workload's share in each class over the horizon [workloads, classes] (the
        mean of the months: what the placement engine and the bridges, which see one moment, use)."""
        classes, share = self.class_shares_t()
        flat = not np.ptp(share, axis=2).any()           # constant shares: exactly the given ones, no averaging
        return classes, share[:, :, 0] if flat else share.mean(axis=2)

    # ---- the perf layer -----------------------------------------------------------------
    def context(self):
        """The perf `Context`: catalog with this scenario's overrides, models with its extras."""
        if self._ctx is None:
            self._ctx = build_context(self)
        return self._ctx

    def offering_ids(self) -> list[str]:
        """Offerings the planner may use: included, not excluded, with a price for an allowed term."""
        return select_offerings(self)[0]

    def rate_table(self, ctx=None):
        """The rate table for this scenario's workloads over its offerings, measured rates applied."""
        from ..perf.ratetable import build_rate_table
        ctx = ctx or self.context()
        table = build_rate_table([s.service() for s in self.workloads.services],
                                 [t.training() for t in self.workloads.training], ctx,
                                 offerings=self.offering_ids())
        for r in self.rates:
            table = table.with_measured(r.workload, r.tokens_per_chip_hour, offering=r.offering,
                                        accelerator=ctx.catalog.accelerator_id(r.accelerator)
                                        if r.accelerator else None)
        return table

    def with_extra_files(self, catalog_files=(), model_files=()) -> "Scenario":
        """A copy that also reads these catalog override and model files (e.g. the CLI's --catalog/--models)."""
        cat = dict(self.catalog)
        cat["files"] = [*(cat.get("files") or []), *[str(Path(f).resolve()) for f in catalog_files]]
        new = self.model_copy(update={"catalog": cat, "model_files": (*self.model_files,
                                                                     *[str(Path(f).resolve()) for f in model_files])})
        new._doc, new._base_dir, new._ctx = self._doc, self._base_dir, None
        check_scenario(new)
        return new

    def summary(self) -> dict[str, Any]:
        """A short description for `polyfleet scenario`."""
        ctx = self.context()
        offs = self.offering_ids()
        fams: dict[str, int] = {}
        for o in offs:
            fam = ctx.catalog.accelerators[ctx.catalog.offerings[o].accelerator].family
            fams[fam] = fams.get(fam, 0) + 1
        return {"name": self.name, "source": self.source_name, "description": self.description.strip(),
                "horizon": {"start": self.months[0], "end": self.months[-1], "months": self.horizon.months,
                            "hours_per_month": self.horizon.hours_per_month},
                "services": [s.id for s in self.workloads.services],
                "training": [t.id for t in self.workloads.training],
                "tenants": [t.id for t in self.tenants], "offerings": len(offs), "offerings_by_family": fams,
                "fleet_entries": len(self.fleet), "supply_rules": len(self.supply.rules),
                "power_limits": len(self.power.limits) + (1 if self.power.total_mw else 0),
                "caps": {k: v for k, v in self.risk.max_share.items()},
                "protected_classes": {c: r for c, r in self.priority_classes().items() if r > 0},
                "cvar_scenarios": len(self.risk.scenarios),
                "demand_paths": self.uncertainty.describe(), "contracts": [c.id for c in self.contracts],
                "commitment_tail": self.money.commitment_tail,
                "clusters": [c.id for c in self.clusters]}

"""Loading the built-in catalog and merging user overrides (YAML or CSV) over it."""

from __future__ import annotations

import math
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..datafile import DataFile, read_csv_rows, user_error_from_validation, validate
from ..errors import UnknownNameError, UserError
from .figures import Figure, Source, parse_figure
from .model import TERMS, Accelerator, MemoryRecipe, Offering, Provider, Region, Runtime
from .store import Catalog

SHELL_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def offering_id(provider: str, instance: str, region: str) -> str:
    """`provider/instance/region` with anything a shell would split or expand turned into '-'."""
    return "/".join(SHELL_UNSAFE.sub("-", str(part)).strip("-") for part in (provider, instance, region))

ACCELERATOR_FIGURES = ("bf16_tflops", "fp8_tflops", "int8_tops", "fp4_tflops", "hbm_gb", "hbm_tbps",
                       "scaleup_chips", "link_gbytes_per_s", "scaleout_gbytes_per_s", "max_slice_chips", "tdp_watts",
                       "system_watts_per_chip")
BUILTIN_FILES = ("accelerators.yaml", "runtimes.yaml", "providers.yaml", "offerings.yaml")


class _Reader:
    """Turns one data file's raw entries into typed objects, with file:line errors."""

    def __init__(self, doc: DataFile, default_status: str | None, providers: dict | None = None,
                 regions: dict | None = None) -> None:
        self.doc = doc
        self.default_status = default_status
        self.providers = providers or {}
        self.regions = regions          # None: regions are not checked (built-in files, CSV price lists)
        raw_sources = (doc.data or {}).get("sources") or {}
        if not isinstance(raw_sources, dict):
            raise UserError("must be a mapping of source keys", where=doc.where(("sources",)), field=doc.field(("sources",)))
        self.sources: dict[str, Source] = {
            key: validate(Source, val, doc.name, doc, ("sources", key)) for key, val in raw_sources.items()}

    def figure(self, raw: Any, default_source: str | None, loc: tuple) -> Figure:
        """A figure as written in the file; its value, where known, is a finite number >= 0 (every
        catalog figure is a size, a rate, a power or a price)."""
        try:
            if self.default_status and isinstance(default_source, str) and default_source not in self.sources:
                self.sources[default_source] = Source(ref=default_source, status=self.default_status)  # type: ignore[arg-type]
            if self.default_status and isinstance(raw, dict) and raw.get("source") not in (None, *self.sources) \
                    and "status" not in raw:
                raw = {**raw, "status": self.default_status}
            fig = parse_figure(raw, self.sources, default_source)
        except ValidationError as exc:
            raise user_error_from_validation(exc, self.doc.name, self.doc, loc, raw if isinstance(raw, dict) else None) \
                from None
        except (ValueError, TypeError) as exc:
            raise UserError(str(exc), where=self.doc.where(loc), field=self.doc.field(loc)) from None
        if fig.value is not None and not (math.isfinite(fig.value) and fig.value >= 0):
            raise UserError(f"must be a finite number >= 0, not {fig.value:g}", where=self.doc.where(loc),
                            field=self.doc.field(loc))
        return fig

    def section(self, name: str) -> list[dict]:
        items = (self.doc.data or {}).get(name) or []
        if not isinstance(items, list):
            raise UserError("must be a list", where=self.doc.where((name,)), field=self.doc.field((name,)))
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise UserError("each entry must be a mapping", where=self.doc.where((name, i)),
                                field=self.doc.field((name, i)))
        return items

    def accelerator(self, raw: dict, i: int, base: Accelerator | None) -> Accelerator:
        loc = ("accelerators", i)
        raw = dict(raw)
        default = raw.pop("source", None)
        assumed = raw.pop("assumed", None) or {}
        data: dict[str, Any] = base.model_dump() if base is not None else {}
        data.update({k: v for k, v in raw.items() if k not in ACCELERATOR_FIGURES})
        for key in ACCELERATOR_FIGURES:
            if key in raw:
                data[key] = self.figure(raw[key], default, loc + (key,))
        extra: dict[str, Figure] = dict(base.assumed) if base is not None else {}
        for key, val in assumed.items():
            fig = self.figure(val, default, loc + ("assumed", key))
            extra[key] = fig.model_copy(update={"assumed": True})
        data["assumed"] = extra
        return validate(Accelerator, data, self.doc.name, self.doc, loc)

    def runtime(self, raw: dict, i: int) -> Runtime:
        loc = ("runtimes", i)
        raw = dict(raw)
        default = raw.pop("source", None)
        plats = raw.get("platforms") or {}
        if not isinstance(plats, dict):
            raise UserError("must be a mapping of platform: efficiency", where=self.doc.where(loc + ("platforms",)),
                            field=f"runtimes[{i}].platforms")
        raw["platforms"] = {p: self.figure(v, default, loc + ("platforms", p)) for p, v in plats.items()}
        if isinstance(raw.get("memory"), dict):
            raw["memory"] = validate(MemoryRecipe, raw["memory"], self.doc.name, self.doc, loc + ("memory",))
        return validate(Runtime, raw, self.doc.name, self.doc, loc)

    def offerings(self, raw: dict, i: int) -> list[Offering]:
        """One entry expands to one offering per region."""
        loc = ("offerings", i)
        default = raw.get("source")
        base_prices = raw.get("prices") or {}
        if not isinstance(base_prices, dict):
            raise UserError("must be a mapping of price terms", where=self.doc.where(loc + ("prices",)),
                            field=self.doc.field(loc + ("prices",)), allowed=", ".join(TERMS))
        regions = raw.get("regions") or {}
        if not isinstance(regions, dict) or not regions:
            raise UserError("needs a mapping of regions (region: {price overrides})",
                            where=self.doc.where(loc + ("regions",)), field=self.doc.field(loc + ("regions",)))
        out = []
        for region, over in regions.items():
            rloc = loc + ("regions", region)
            if not isinstance(over, dict) and over is not None:
                raise UserError("must be a mapping of price terms (or empty)", where=self.doc.where(rloc),
                                field=self.doc.field(rloc), allowed=", ".join(TERMS))
            prices = {**base_prices, **(over or {})}
            bad = set(prices) - set(TERMS)
            if bad:
                raise UserError(f"unknown price term(s) {sorted(map(str, bad))}", where=self.doc.where(rloc),
                                field=self.doc.field(rloc), allowed=", ".join(TERMS))
            data = {k: raw.get(k) for k in ("provider", "accelerator", "instance", "unit_chips")}
            data["region"] = str(region)
            data["id"] = offering_id(data["provider"], data["instance"], str(region))
            self.region_known(data, rloc)
            for term in TERMS:
                where = loc + (("regions", region, term) if term in (over or {}) else ("prices", term))
                data[term] = self.figure(prices.get(term), default, where)
            out.append(validate(Offering, data, self.doc.name, self.doc, loc))
        return out


    def region_known(self, data: dict, loc: tuple) -> None:
        """A user file's offering names a provider and a region the catalog (or an earlier
        `providers:`/`regions:` section) declares: a typo would otherwise add a phantom offering."""
        if self.regions is None:
            return
        prov = str(data.get("provider"))
        if prov not in self.providers:
            raise UnknownNameError("provider", prov, self.providers, where=self.doc.where(loc[:2] + ("provider",)),
                                   field=self.doc.field(loc[:2] + ("provider",)))
        mine = [r.split("/", 1)[1] for r in self.regions if r.startswith(prov + "/")]
        if data["region"] not in mine:
            raise UnknownNameError(f"{prov} region", data["region"], mine or ["(none declared)"],
                                   where=self.doc.where(loc), field=self.doc.field(loc),
                                   note="a new region is declared under `regions:`")


def _merge(cat: dict[str, dict], doc: DataFile, user: bool, declare_regions: bool = False) -> None:
    """Merge one file's entries into the growing catalog dictionaries. A user YAML file's offerings
    must name declared providers and regions; a CSV price list (`declare_regions`) declares its regions."""
    data = doc.data or {}
    if not isinstance(data, dict):        # checked first: the reader looks up `sources:` in it
        raise UserError(f"a catalog file must be a mapping of sections, not a {type(data).__name__}",
                        where=doc.name, allowed="sources, accelerators, runtimes, defaults, providers, regions, "
                                                "offerings")
    reader = _Reader(doc, "user" if user else None, cat["providers"],
                     cat["regions"] if user and not declare_regions else None)
    allowed = {"sources", "accelerators", "runtimes", "defaults", "providers", "regions", "offerings"}
    unknown = set(data) - allowed
    if unknown:
        key = sorted(unknown)[0]
        raise UserError(f"unknown section '{key}'", where=doc.where((key,)), field=doc.field((key,)),
                        allowed=", ".join(sorted(allowed)))
    aliases = {a_alias.lower(): a.id for a in cat["accelerators"].values() for a_alias in (a.id, *a.aliases)}
    for i, raw in enumerate(reader.section("accelerators")):
        acc_id = aliases.get(str(raw.get("id", "")).lower())
        acc = reader.accelerator(raw, i, cat["accelerators"].get(acc_id) if acc_id else None)
        cat["accelerators"][acc.id] = acc
    for i, raw in enumerate(reader.section("runtimes")):
        rt = reader.runtime(raw, i)
        cat["runtimes"][rt.id] = rt
    _merge_defaults(cat, doc, data.get("defaults"))
    for i, raw in enumerate(reader.section("providers")):
        prov = validate(Provider, raw, doc.name, doc, ("providers", i))
        cat["providers"][prov.id] = prov
    for i, raw in enumerate(reader.section("regions")):
        reg = validate(Region, raw, doc.name, doc, ("regions", i))
        cat["regions"][f"{reg.provider}/{reg.id}"] = reg
    for i, raw in enumerate(reader.section("offerings")):
        acc_id = aliases.get(str(raw.get("accelerator", "")).lower())
        if acc_id is None:
            raise UnknownNameError("accelerator", str(raw.get("accelerator")), aliases,
                                   where=doc.where(("offerings", i, "accelerator")),
                                   field=doc.field(("offerings", i, "accelerator")))
        raw = {**raw, "accelerator": acc_id}
        for off in reader.offerings(raw, i):
            old = cat["offerings"].get(off.id)
            if old is not None and user:
                # an override keeps the built-in prices it does not mention
                keep = {t: getattr(old, t) for t in TERMS if not getattr(off, t).known and _unmentioned(raw, off.region, t)}
                off = off.model_copy(update=keep)
            cat["offerings"][off.id] = off


def _merge_defaults(cat: dict, doc: DataFile, raw: Any) -> None:
    """`defaults: {inference|training: {platform: stack}}`: the stack assumed where a workload names none."""
    if raw is None:
        return
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise UserError("must map inference/training to {platform: stack}", where=doc.where(("defaults",)),
                        field="defaults")
    for use, per_platform in raw.items():
        if use not in ("inference", "training"):
            raise UserError(f"unknown use '{use}'", where=doc.where(("defaults", use)), field="defaults",
                            allowed="inference, training")
        for platform, stack in per_platform.items():
            if str(stack) not in cat["runtimes"]:
                raise UserError(f"unknown stack '{stack}'", where=doc.where(("defaults", use, platform)),
                                field=f"defaults.{use}.{platform}", allowed=", ".join(sorted(cat["runtimes"])))
            cat["defaults"].setdefault(use, {})[str(platform)] = str(stack)


def _unmentioned(raw: dict, region: str, term: str) -> bool:
    return term not in (raw.get("prices") or {}) and term not in ((raw.get("regions") or {}).get(region) or {})


def _check_references(cat: dict[str, dict], origin: str) -> None:
    for off in cat["offerings"].values():
        if off.provider not in cat["providers"]:
            raise UserError(f"offering {off.id} names unknown provider '{off.provider}' (a price CSV adds one "
                            "with provider_name and provider_kind columns; a YAML catalog with a providers: entry)",
                            where=origin, allowed=", ".join(sorted(cat["providers"])))
        if f"{off.provider}/{off.region}" not in cat["regions"]:
            cat["regions"][f"{off.provider}/{off.region}"] = Region(id=off.region, provider=off.provider)


@lru_cache(maxsize=1)
def _builtin() -> Catalog:
    cat: dict[str, dict] = {k: {} for k in ("accelerators", "runtimes", "defaults", "providers", "regions",
                                            "offerings")}
    pkg = resources.files("polyfleet.catalog") / "data"
    for name in BUILTIN_FILES:
        _merge(cat, DataFile((pkg / name).read_text(encoding="utf-8"), f"built-in {name}"), user=False)
    _check_references(cat, "built-in catalog")
    return _freeze(cat)


def _freeze(cat: dict[str, dict]) -> Catalog:
    providers = {}
    for pid, prov in cat["providers"].items():
        regs = tuple(sorted(r.id for r in cat["regions"].values() if r.provider == pid))
        providers[pid] = prov.model_copy(update={"regions": regs})
    return Catalog(cat["accelerators"], cat["runtimes"], providers, cat["regions"], cat["offerings"],
                   default_stacks={u: dict(p) for u, p in cat["defaults"].items()})


def load_catalog(*overrides: str | Path | DataFile) -> Catalog:
    """The built-in catalog with each override merged over it, in order.

    An override is a file (YAML; a CSV of offering prices; a SkyPilot vms.csv) or an already
    parsed `DataFile` (an inline section of a larger file, whose errors point into that file).
    """
    base = _builtin()
    if not overrides:
        return base
    cat = {"accelerators": dict(base.accelerators), "runtimes": dict(base.runtimes),
           "defaults": {u: dict(p) for u, p in base.default_stacks.items()},
           "providers": dict(base.providers), "regions": dict(base.regions), "offerings": dict(base.offerings)}
    for path in overrides:
        if isinstance(path, DataFile):
            _merge(cat, path, user=True)
            _check_references(cat, path.name)
            continue
        path = Path(path)
        if path.suffix.lower() == ".csv":
            from .skypilot import is_skypilot_csv, read_skypilot_csv
            if is_skypilot_csv(path):
                doc_data = read_skypilot_csv(path)
                doc_data.pop("skipped")
            else:
                doc_data = read_price_csv(path)
            _merge(cat, _CsvDoc.of(doc_data, str(path)), user=True, declare_regions=True)
        else:
            _merge(cat, DataFile.read(path), user=True)
        _check_references(cat, str(path))
    return _freeze(cat)


class _CsvDoc(DataFile):
    """Offerings built from CSV rows, presented as a DataFile whose locations are row numbers and
    whose fields are the CSV's columns."""

    def field(self, loc=()) -> str:  # type: ignore[override]
        parts = [p for p in loc[2:] if isinstance(p, str)]
        if parts[:1] == ["regions"]:
            return parts[2] if len(parts) > 2 else "region"
        return parts[-1] if parts else ""

    def where(self, loc=()) -> str:  # type: ignore[override]
        if len(loc) >= 2 and loc[0] == "offerings" and isinstance(loc[1], int):
            row = self.data["offerings"][loc[1]].get("_row")
            if row:
                return f"{self.name}:{row}"
        return self.name


PRICE_CSV_COLUMNS = ("provider", "accelerator", "instance", "region", "unit_chips")
PROVIDER_KINDS = ("hyperscaler", "neocloud", "private")


def read_price_csv(path: Path) -> dict:
    """A CSV of offering prices (the format is documented in examples/README.md).

    Required columns: provider, accelerator, instance, region, unit_chips. Optional: on_demand,
    spot, commit_1y, commit_3y (USD per chip-hour), source, status, as_of (YYYY-MM-DD), and
    provider_name / provider_kind, which add a provider the catalog does not know. A price
    column that is present with an empty cell means unknown (it replaces a built-in price);
    a column left out keeps the built-in price.
    """
    rows = read_csv_rows(path, PRICE_CSV_COLUMNS)
    offerings, providers = [], {}
    for row in rows:
        n = int(row["_line"])
        source = (row.get("source") or "").strip() or f"{path.name} row {n}"
        status = (row.get("status") or "").strip() or "user"
        as_of = (row.get("as_of") or "").strip() or None
        prices: dict[str, dict | None] = {}
        for term in TERMS:
            if term not in row:
                continue
            prices[term] = _csv_price(row.get(term), path, n, term, source, status, as_of)
        unit_cell = (row["unit_chips"] or "").strip()
        unit = _csv_number(unit_cell, path, n, "unit_chips")
        if not unit.is_integer() or unit < 1:
            raise UserError(f"'{unit_cell}' is not a whole number >= 1", where=f"{path}:{n}", field="unit_chips")
        prov = (row["provider"] or "").strip().lower()
        name, kind = (row.get("provider_name") or "").strip(), (row.get("provider_kind") or "").strip()
        if name or kind:
            if kind and kind not in PROVIDER_KINDS:
                raise UserError(f"unknown provider kind '{kind}'", where=f"{path}:{n}", field="provider_kind",
                                allowed=", ".join(PROVIDER_KINDS))
            providers[prov] = {"id": prov, "name": name or prov, "kind": kind or "neocloud"}
        offerings.append({"provider": prov, "accelerator": (row["accelerator"] or "").strip(),
                          "instance": (row["instance"] or "").strip(), "unit_chips": int(unit),
                          "regions": {(row["region"] or "").strip(): prices}, "_row": n})
    return {"providers": list(providers.values()), "offerings": offerings}


def _csv_price(cell: str | None, path: Path, n: int, term: str, source: str, status: str,
               as_of: str | None) -> dict | None:
    cell = (cell or "").strip()
    if not cell:
        return None
    value = _csv_number(cell, path, n, term)
    if value <= 0:
        raise UserError(f"'{cell}' is not a price (USD per chip-hour > 0)", where=f"{path}:{n}", field=term)
    return {"value": value, "source": source, "status": status, "as_of": as_of}


def _csv_number(cell: str, path: Path, line: int, column: str) -> float:
    """A CSV cell as a finite number >= 0, or a UserError naming file:line and the column."""
    try:
        value = float(cell)
    except ValueError:
        raise UserError(f"'{cell}' is not a number", where=f"{path}:{line}", field=column) from None
    if not math.isfinite(value) or value < 0:
        raise UserError(f"'{cell}' must be a finite number >= 0", where=f"{path}:{line}", field=column)
    return value

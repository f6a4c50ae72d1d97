"""Import what was actually paid from a cloud bill: prices per chip-hour and the chip-hours bought.

Two layouts, told apart by their columns:
- AWS CUR 2.0 (Data Exports, CSV): `bill_billing_period_start_date`, `line_item_line_item_type`,
  `line_item_usage_type`, `line_item_usage_amount` (instance-hours), `line_item_unblended_cost`,
  `product_instance_type`, `product_region_code`, `pricing_term`, `pricing_lease_contract_length`,
  `savings_plan_savings_plan_effective_cost`, `reservation_effective_cost`
  (https://docs.aws.amazon.com/cur/latest/userguide/table-dictionary-cur2.html). Usage lines cost their
  unblended cost; Savings-Plan and reserved lines their effective cost (the unblended cost there is the
  on-demand equivalent; fee lines are left out, their cost is in that effective cost). Spot from
  `pricing_term` or a `SpotUsage` usage type; commitments by lease length.
- GCP billing export (standard usage cost, flattened to CSV with the export's dotted names):
  `usage_start_time`, `service.description`, `sku.description`, `location.region`, `cost`,
  `usage.amount_in_pricing_units`, `usage.pricing_unit`, optional `credits` (the sum of the row's
  credits, negative) (https://cloud.google.com/billing/docs/how-to/export-data-bigquery-tables/standard-usage).
  TPU SKUs are billed per chip-hour; their SKU description names the TPU generation. GPU SKUs price the
  GPU alone (the host VM is another SKU), so they are reported, not turned into a chip-hour price.

Each (offering, term) gets a measured price: USD paid / chip-hours paid over the whole file, a figure
with status `measured` that overrides the catalog's for that term (the scenario `catalog:` section).
"""

from __future__ import annotations

import calendar
import csv
import math
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..catalog import Catalog
from ..errors import UserError
from .fleet_import import Unmapped, match_offering

AWS_COLUMNS = ("bill_billing_period_start_date", "line_item_line_item_type", "line_item_usage_type",
               "line_item_usage_amount", "line_item_unblended_cost", "product_instance_type", "product_region_code")
GCP_COLUMNS = ("usage_start_time", "sku.description", "location.region", "cost", "usage.amount_in_pricing_units",
               "usage.pricing_unit")
AWS_USAGE = ("Usage", "DiscountedUsage", "SavingsPlanCoveredUsage")
GCP_TPU = ((r"tpu[- ]?v6e|trillium", "tpu-v6e"), (r"tpu[- ]?v5e|tpu[- ]?v5 ?lite", "tpu-v5e"),
           (r"tpu[- ]?v5p", "tpu-v5p"), (r"tpu[- ]?7x|ironwood", "tpu-v7"))
GCP_GPU = r"\b(nvidia|gpu)\b"


@dataclass(frozen=True)
class Paid:
    """Chip-hours of one offering on one term in one month, and what they cost."""

    offering: str
    term: str
    month: str
    chip_hours: float
    usd: float

    @property
    def avg_chips(self) -> float:
        """Chips held on average over the month (chip-hours / hours in the month)."""
        y, m = map(int, self.month.split("-"))
        return self.chip_hours / (calendar.monthrange(y, m)[1] * 24.0)


@dataclass(frozen=True)
class BillImport:
    """What a bill says was paid. `other_usd`: cost of lines that are not accelerators."""

    source: str
    layout: str                        # "aws-cur2" | "gcp-billing-export"
    paid: tuple[Paid, ...]
    unmapped: tuple[Unmapped, ...]
    other_usd: float

    def prices(self) -> list[dict]:
        """One row per (offering, term): chip-hours, USD and the measured USD per chip-hour."""
        sums: dict[tuple[str, str], list] = {}
        for p in self.paid:
            s = sums.setdefault((p.offering, p.term), [0.0, 0.0, set()])
            s[0] += p.chip_hours
            s[1] += p.usd
            s[2].add(p.month)
        return [{"offering": o, "term": t, "chip_hours": h, "usd": u, "months": ", ".join(sorted(ms)),
                 "usd_per_chip_hour": u / h if h > 0 else None} for (o, t), (h, u, ms) in sorted(sums.items())]

    def catalog_section(self, catalog: Catalog, as_of: str | None = None) -> dict:
        """The scenario `catalog:` override: each offering's measured price per term, status `measured`."""
        key = "bill-" + re.sub(r"[^a-z0-9]+", "-", Path(self.source).name.lower()).strip("-")
        months = sorted({p.month for p in self.paid})
        span = f"{months[0]}..{months[-1]}" if months else "no months"
        ref = f"{self.layout} {Path(self.source).name}, {span}: USD paid / chip-hours paid"
        offerings: dict[str, dict] = {}
        for row in self.prices():
            if row["usd_per_chip_hour"] is None:
                continue
            off = catalog.offerings[row["offering"]]
            entry = offerings.setdefault(off.id, {"provider": off.provider, "accelerator": off.accelerator,
                                                  "instance": off.instance, "unit_chips": off.unit_chips,
                                                  "source": key, "regions": {off.region: {}}})
            entry["regions"][off.region][row["term"]] = {
                "value": round(row["usd_per_chip_hour"], 6),
                "note": f"{row['chip_hours']:,.0f} chip-hours, ${row['usd']:,.2f} paid ({row['months']})"}
        source = {"ref": ref, "status": "measured"}
        if as_of or months:
            source["as_of"] = as_of or _month_end(months[-1])
        return {"sources": {key: source}, "offerings": list(offerings.values())}


def _month_end(month: str) -> str:
    y, m = map(int, month.split("-"))
    return f"{month}-{calendar.monthrange(y, m)[1]:02d}"


def _number(cell: str | None, where: str, field: str) -> float:
    text = (cell or "").strip()
    try:
        value = float(text) if text else 0.0
    except ValueError:
        raise UserError(f"'{text}' is not a number", where=where, field=field) from None
    if not math.isfinite(value):
        raise UserError(f"'{text}' is not a finite number", where=where, field=field)
    return value


def _month(cell: str | None, where: str, field: str) -> str:
    m = re.match(r"(\d{4})-(\d{2})", (cell or "").strip())
    if not m:
        raise UserError(f"'{cell}' is not a date", where=where, field=field, allowed="YYYY-MM-DD...")
    return f"{m.group(1)}-{m.group(2)}"


def read_bill(path: str | Path, catalog: Catalog) -> BillImport:
    """Read an AWS CUR 2.0 or GCP billing export CSV (told apart by its header)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError("file not found", where=str(path)) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read: {exc.__class__.__name__}", where=str(path)) from None
    reader = csv.DictReader(io.StringIO(text))
    header = set(reader.fieldnames or [])
    if set(AWS_COLUMNS) <= header:
        return _aws(reader, str(path), catalog)
    if set(GCP_COLUMNS) <= header:
        return _gcp(reader, str(path), catalog)
    raise UserError("not a bill layout polyfleet reads", where=f"{path}:1",
                    allowed=f"AWS CUR 2.0 (columns {', '.join(AWS_COLUMNS)}) or the GCP billing export "
                            f"(columns {', '.join(GCP_COLUMNS)})")


def _aws_term(row: dict) -> str | None:
    kind = row["line_item_line_item_type"]
    if kind == "Usage":
        spot = row.get("pricing_term") == "Spot" or "SpotUsage" in row["line_item_usage_type"]
        return "spot" if spot else "on_demand"
    length = (row.get("pricing_lease_contract_length") or "").lower()
    return {"1yr": "commit_1y", "3yr": "commit_3y"}.get(length)


def _aws(reader: csv.DictReader, source: str, catalog: Catalog) -> BillImport:
    accel = {o.instance: o.accelerator for o in catalog.offerings.values() if o.provider == "aws"}
    sums: dict[tuple[str, str, str], list[float]] = {}
    lost: list[Unmapped] = []
    other = 0.0
    for n, row in enumerate(reader, start=2):
        where = f"{source}:{n}"
        kind = row["line_item_line_item_type"]
        inst = row["product_instance_type"] or row["line_item_usage_type"].rpartition(":")[2]
        cost_col = {"SavingsPlanCoveredUsage": "savings_plan_savings_plan_effective_cost",
                    "DiscountedUsage": "reservation_effective_cost"}.get(kind, "line_item_unblended_cost")
        usd = _number(row.get(cost_col), where, cost_col)
        if kind not in AWS_USAGE or inst not in accel:
            other += usd
            continue
        term = _aws_term(row)
        region = row["product_region_code"]
        off, why = match_offering(catalog, "aws", region, accel[inst], inst)
        if term is None or off is None:
            lost.append(Unmapped(f"line {n} ({inst}, {region})", why or "commitment with no lease length"))
            continue
        hours = _number(row["line_item_usage_amount"], where, "line_item_usage_amount")
        key = (off, term, _month(row["bill_billing_period_start_date"], where, "bill_billing_period_start_date"))
        s = sums.setdefault(key, [0.0, 0.0])
        s[0] += hours * catalog.offerings[off].unit_chips
        s[1] += usd
    return BillImport(source, "aws-cur2", _paid(sums), tuple(lost), other)


def _credits(cell: str | None, where: str) -> float:
    text = (cell or "").strip()
    if text.startswith("["):  # the export's repeated record written as JSON
        try:
            return sum(float(c.get("amount", 0)) for c in json.loads(text))
        except (ValueError, TypeError, AttributeError):
            raise UserError(f"'{text}' is not a list of credits", where=where, field="credits") from None
    return _number(text, where, "credits")


def _gcp(reader: csv.DictReader, source: str, catalog: Catalog) -> BillImport:
    sums: dict[tuple[str, str, str], list[float]] = {}
    lost: list[Unmapped] = []
    other = 0.0
    for n, row in enumerate(reader, start=2):
        where = f"{source}:{n}"
        desc = row["sku.description"]
        usd = _number(row["cost"], where, "cost") + _credits(row.get("credits"), where)
        acc = next((a for pat, a in GCP_TPU if re.search(pat, desc, re.IGNORECASE)), None)
        if acc is None:
            if re.search(GCP_GPU, desc, re.IGNORECASE):
                lost.append(Unmapped(f"line {n} ({desc})", "GCP bills a GPU and its host VM as separate SKUs; "
                                                           "a chip-hour price needs both"))
            else:
                other += usd
            continue
        unit = row["usage.pricing_unit"].strip().lower()
        region = row["location.region"]
        off, why = match_offering(catalog, "gcp", region, acc)
        if unit != "hour" or off is None:
            lost.append(Unmapped(f"line {n} ({desc})", why or f"pricing unit '{unit}' is not chip-hours"))
            continue
        low = desc.lower()
        term = "spot" if ("spot" in low or "preemptible" in low) else "on_demand"
        if "commit" in low:
            term = "commit_3y" if re.search(r"3 ?y", low) else "commit_1y" if re.search(r"1 ?y", low) else ""
            if not term:
                lost.append(Unmapped(f"line {n} ({desc})", "commitment with no term in the SKU"))
                continue
        key = (off, term, _month(row["usage_start_time"], where, "usage_start_time"))
        s = sums.setdefault(key, [0.0, 0.0])
        s[0] += _number(row["usage.amount_in_pricing_units"], where, "usage.amount_in_pricing_units")
        s[1] += usd
    return BillImport(source, "gcp-billing-export", _paid(sums), tuple(lost), other)


def _paid(sums: dict[tuple[str, str, str], list[float]]) -> tuple[Paid, ...]:
    return tuple(Paid(o, t, m, h, u) for (o, t, m), (h, u) in sorted(sums.items()))

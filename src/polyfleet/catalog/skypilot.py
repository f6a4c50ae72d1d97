"""Import SkyPilot's public catalog format (`skypilot-catalog: catalogs/v*/<cloud>/vms.csv`).

Quirks handled (see shared/research/accelerators.md, section 3):
column order differs per cloud; GCP GPU rows price the accelerator only, so the host VM
row is added; TPU slice names count TensorCores (v2-v4, v5p, 7x) or chips (v5e, v6e);
700.0 is a placeholder for "no price"; an empty SpotPrice means no spot offer; rows are per
availability zone and are reduced to one per region (cheapest zone); GpuInfo is a Python repr.
Commitment prices are not in this format.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections import defaultdict
from pathlib import Path

from ..datafile import read_text
from ..errors import UserError

NO_PRICE_SENTINEL = 700.0
CLOUDS = ("aws", "gcp", "azure")

# SkyPilot accelerator names -> catalog ids (others are skipped and counted)
ACCELERATOR_NAMES = {
    "h100": "h100", "h100-mega": "h100", "h200": "h200", "b200": "b200", "gb200": "gb200",
    "a100-80gb": "a100-80gb", "mi300x": "mi300x", "mi325x": "mi325x",
    "trainium": "trn1", "trainium2": "trn2", "trainium3": "trn3", "inferentia2": "inf2",
}
# TPU slice prefixes -> (catalog id, TensorCores per chip in the slice name)
TPU_SLICES = {"tpu-v5litepod": ("tpu-v5e", 1), "tpu-v5p": ("tpu-v5p", 2), "tpu-v6e": ("tpu-v6e", 1),
              "tpu7x": ("tpu-v7", 2)}
# instance families without an AcceleratorName in some snapshots
INSTANCE_PREFIXES = {"trn1": ("trn1", 16), "trn1n": ("trn1", 16), "trn2": ("trn2", 16), "inf2": ("inf2", None)}
# GCP GPU -> host VM family whose row carries CPU/RAM; '{n}' is the GPU count
GCP_HOSTS = {"h100": "a3-highgpu-{n}g", "h100-mega": "a3-megagpu-{n}g", "h200": "a3-ultragpu-{n}g",
             "b200": "a4-highgpu-{n}g", "a100-80gb": "a2-ultragpu-{n}g"}


def is_skypilot_csv(path: Path) -> bool:
    header = next(csv.reader(io.StringIO(read_text(path, "CSV file"))), [])
    return {"InstanceType", "AcceleratorName", "Price"} <= set(header)


def detect_cloud(path: Path, header: list[str]) -> str:
    for part in reversed(path.parts[:-1]):
        if part.lower() in CLOUDS:
            return part.lower()
    if len(header) > 1 and header[1] == "vCPUs":
        return "gcp"
    if "AvailabilityZone" not in header:
        return "azure"
    return "aws"


def _price(cell: str | None) -> float | None:
    """A price cell: None where empty, the 700.0 placeholder or 0; a ValueError where not a finite
    number >= 0."""
    cell = (cell or "").strip()
    if not cell:
        return None
    value = float(cell)
    if not math.isfinite(value) or value < 0:
        raise ValueError(cell)
    return None if value == NO_PRICE_SENTINEL or value == 0 else value


def read_skypilot_csv(path: Path, cloud: str | None = None) -> dict:
    """Offerings (in the catalog's data-file form) read from a SkyPilot vms.csv."""
    path = Path(path)
    reader = csv.DictReader(io.StringIO(read_text(path, "CSV file")))
    try:
        header = reader.fieldnames or []
        rows = list(reader)
    except csv.Error as exc:
        raise UserError(f"not valid CSV: {exc}", where=f"{path}:{reader.line_num}") from None
    cloud = cloud or detect_cloud(path, header)
    as_of = dt.date.fromtimestamp(path.stat().st_mtime).isoformat()
    source = f"SkyPilot catalog file {path.name} ({cloud})"

    hosts: dict[tuple[str, str], tuple[float | None, float | None]] = {}
    best: dict[tuple, dict] = {}
    skipped: dict[str, int] = defaultdict(int)
    for n, row in enumerate(rows, start=2):
        try:
            od, spot = _price(row.get("Price")), _price(row.get("SpotPrice"))
        except ValueError as exc:
            raise UserError(f"price '{exc}' is not a finite number >= 0", where=f"{path}:{n}",
                            field="Price/SpotPrice") from None
        itype = (row.get("InstanceType") or "").strip()
        acc_name = (row.get("AcceleratorName") or "").strip()
        region = (row.get("Region") or "").strip()
        if not region:
            raise UserError("empty Region", where=f"{path}:{n}", field="Region")
        if itype and not acc_name:
            hosts[(itype, region)] = (od, spot)
            prefix = itype.split(".")[0]
            if prefix not in INSTANCE_PREFIXES:
                continue
        try:
            parsed = _accelerator(itype, acc_name, row, cloud)
        except (ValueError, OverflowError):
            raise UserError(f"cannot read the accelerator count of '{acc_name or itype}'", where=f"{path}:{n}",
                            field="AcceleratorName/AcceleratorCount") from None
        if parsed is None:
            skipped[acc_name or itype] += 1
            continue
        acc_id, chips, instance, gcp_gpu = parsed
        key = (acc_id, instance, region)
        cur = best.setdefault(key, {"chips": chips, "od": None, "spot": None, "row": n, "gpu": gcp_gpu})
        for field, value in (("od", od), ("spot", spot)):
            if value is not None and (cur[field] is None or value < cur[field]):
                cur[field] = value

    offerings = []
    for (acc_id, instance, region), cur in best.items():
        chips = cur["chips"]
        prices = {}
        host_od = host_spot = 0.0
        note = None
        if cur["gpu"]:
            per_chip = 1.0 / chips
            host = hosts.get((instance, region))
            if host is None:
                host = hosts.get((re.sub(r"-\d+g$", "-1g", instance), region))
                per_chip = 1.0
            if host is None or host[0] is None:
                note = "accelerator row only: no host VM row for this region in the file"
            else:
                host_od = host[0] * per_chip
                host_spot = (host[1] or 0.0) * per_chip
                note = f"accelerator row + host VM row ({instance}) per chip"
        for term, field, extra in (("on_demand", "od", host_od), ("spot", "spot", host_spot)):
            if cur[field] is not None:
                prices[term] = {"value": round(cur[field] / chips + extra, 6), "source": source,
                                "status": "derived" if cur["gpu"] else "catalog", "as_of": as_of, "note": note}
        offerings.append({"provider": cloud, "accelerator": acc_id, "instance": instance, "unit_chips": chips,
                          "regions": {region: prices}, "_row": cur["row"]})
    return {"offerings": offerings, "skipped": dict(skipped)}


def _accelerator(itype: str, acc_name: str, row: dict, cloud: str):
    """(catalog id, chips per unit, instance name, is a GCP accelerator-only row) or None."""
    name = acc_name.lower()
    for prefix, (acc_id, cores_per_chip) in TPU_SLICES.items():
        if name.startswith(prefix + "-"):
            size = int(name.rsplit("-", 1)[1])
            return acc_id, max(1, size // cores_per_chip), acc_name, False
    count = (row.get("AcceleratorCount") or "").strip()
    chips = int(float(count)) if count else None
    if chips is not None and chips < 0:
        raise ValueError(count)
    acc_id = ACCELERATOR_NAMES.get(name)
    if acc_id is None and itype:
        acc_id, default_chips = INSTANCE_PREFIXES.get(itype.split(".")[0], (None, None))
        chips = chips or default_chips
    if acc_id is None or not chips:
        return None
    if cloud == "gcp" and not itype:
        host = GCP_HOSTS.get(name)
        if host is None:
            return None
        return acc_id, chips, host.format(n=chips), True
    return acc_id, chips, itype or acc_name, False

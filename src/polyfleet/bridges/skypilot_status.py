"""Import the fleet from SkyPilot's cluster list: the JSON of `sky status -o json`.

Each record is one cluster (SkyPilot's StatusResponse): `name`, `status` (UP / INIT / STOPPED),
`nodes`, `cloud`, `region`, `accelerators` (the repr of a dict, `{'H100': 8}` per node) and
`resources_str_full` (`[spot](gpus=H100:8, cpus=208, ..., p5.48xlarge, disk=256)`: spot marker and
instance type). An UP cluster's chips are healthy; INIT is degraded (launching, or SkyPilot found it
unhealthy); a STOPPED cluster holds no accelerators. Clusters on SkyPilot's `Kubernetes` cloud are left
out: import that cluster's nodes instead. TPU slice names count chips (v5e, v6e) or TensorCores (v5p, 7x),
as in the catalog's SkyPilot reader.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from ..catalog import Catalog
from ..catalog.skypilot import ACCELERATOR_NAMES, TPU_SLICES
from ..errors import UserError
from .fleet_import import FleetImport, Machine, Unmapped, collect

CLOUDS = {"gcp": "gcp", "aws": "aws", "azure": "azure", "lambda": "lambda", "nebius": "nebius", "oci": "oci"}
REQUIRED = ("name", "status", "nodes")


def read_status(path: str | Path) -> list[dict]:
    """The cluster records of a `sky status -o json` file."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError("file not found", where=str(path)) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read: {exc.__class__.__name__}", where=str(path)) from None
    except json.JSONDecodeError as exc:
        raise UserError(f"not valid JSON: {exc.msg}", where=f"{path}:{exc.lineno}") from None
    if not isinstance(doc, list):
        raise UserError("not a SkyPilot cluster list", where=str(path),
                        allowed="the output of `sky status -o json` (a JSON list of clusters)")
    for i, rec in enumerate(doc):
        missing = [k for k in REQUIRED if not isinstance(rec, dict) or k not in rec]
        if missing:
            raise UserError(f"missing {', '.join(missing)}", where=str(path), field=f"[{i}]",
                            allowed="cluster records with " + ", ".join(REQUIRED))
    return doc


def _slice_chips(name: str) -> tuple[str, int] | None:
    """`tpu-v6e-8` -> (tpu-v6e, 8 chips); `tpu-v5p-8` -> (tpu-v5p, 4 chips)."""
    m = re.fullmatch(r"(tpu-?[a-z0-9]+?)-(\d+)", name.lower())
    if not m or m.group(1) not in TPU_SLICES:
        return None
    acc, cores_per_chip = TPU_SLICES[m.group(1)]
    return acc, int(m.group(2)) // cores_per_chip


def _instance(resources: str) -> tuple[str | None, bool]:
    """Instance type and spot flag from `resources_str_full`."""
    spot = "[spot]" in resources.lower()
    inside = resources[resources.find("(") + 1: resources.rfind(")")] if "(" in resources else ""
    parts = [p.strip() for p in inside.split(",")]
    inst = next((p for p in parts if p and "=" not in p and p != "..."), None)
    return inst, spot


def cluster_machine(rec: dict) -> Machine | Unmapped | None:
    """One cluster as a Machine (all its nodes), Unmapped with the reason, or None without accelerators."""
    name, status = str(rec.get("name")), str(rec.get("status")).upper()
    cloud = str(rec.get("cloud") or "").lower()
    if not rec.get("accelerators"):
        return None
    if status == "STOPPED":
        return Unmapped(name, "stopped: holds no accelerators")
    if cloud == "kubernetes":
        return Unmapped(name, "runs on a Kubernetes cluster: import that cluster's nodes instead")
    provider = CLOUDS.get(cloud)
    if provider is None:
        return Unmapped(name, f"cloud '{rec.get('cloud')}' is not a catalog provider")
    try:
        accs = ast.literal_eval(rec.get("accelerators") or "None") or {}
    except (ValueError, SyntaxError):
        return Unmapped(name, f"unreadable accelerators '{rec.get('accelerators')}'")
    if not isinstance(accs, dict) or not accs:
        return Unmapped(name, f"unreadable accelerators '{rec.get('accelerators')}'")
    (acc_name, per_node), = list(accs.items())[:1]
    inst, spot = _instance(str(rec.get("resources_str_full") or rec.get("resources_str") or ""))
    tpu = _slice_chips(acc_name)
    if tpu:
        acc, chips_per_node, inst = tpu[0], tpu[1] * int(per_node), acc_name.lower()
    else:
        acc = ACCELERATOR_NAMES.get(acc_name.lower())
        chips_per_node = int(per_node)
    if acc is None:
        return Unmapped(name, f"accelerator '{acc_name}' is not in the catalog")
    if not rec.get("region"):
        return Unmapped(name, "no region recorded")
    chips = chips_per_node * int(rec.get("nodes") or 0)
    healthy = chips if status == "UP" else 0
    return Machine(name, provider, str(rec["region"]), acc, healthy, chips - healthy, "spot" if spot else "on_demand",
                   inst, None if healthy else f"status {status}")


def fleet_from_status(records: list[dict], catalog: Catalog, *, source: str = "sky status") -> FleetImport:
    """The fleet SkyPilot's clusters hold, mapped onto catalog offerings."""
    machines, lost, plain = [], [], 0
    for rec in records:
        m = cluster_machine(rec)
        if m is None:
            plain += 1
        else:
            (lost if isinstance(m, Unmapped) else machines).append(m)
    return collect(machines, catalog, source=source, kind="skypilot", unmapped=lost, without_accelerators=plain,
                   notes=("terms: spot from SkyPilot's [Spot] marker; everything else is on_demand",))

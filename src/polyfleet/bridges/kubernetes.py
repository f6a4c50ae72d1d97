"""Import the fleet from Kubernetes nodes: `kubectl get nodes -o json`, or the live API.

Per node: the provider (spec.providerID, else the cloud's own node labels), the region
(`topology.kubernetes.io/region`), the accelerator (GKE TPU labels, the EC2 instance type for
Trainium/Inferentia, `nvidia.com/gpu.product` / `cloud.google.com/gke-accelerator` / the instance type
for NVIDIA, `amd.com/gpu.product-name` for AMD) and its chips (the device plugin's resource:
`google.com/tpu`, `aws.amazon.com/neuron`, `nvidia.com/gpu`, `amd.com/gpu`). Allocatable chips of a
Ready, schedulable node are healthy; a cordoned or NotReady node's chips, and capacity the plugin does
not offer as allocatable (unhealthy devices), are degraded. Spot nodes are recognised by the GKE,
EKS and Karpenter capacity labels; commitments are not visible on nodes. Sources: names.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..catalog import Catalog
from ..errors import UserError
from . import names
from .fleet_import import FleetImport, Machine, Unmapped, collect

PROVIDER_IDS = {"gce": "gcp", "aws": "aws", "azure": "azure", "oci": "oci"}
PROVIDER_LABELS = (("cloud.google.com/gke-nodepool", "gcp"), ("eks.amazonaws.com/nodegroup", "aws"),
                   ("eks.amazonaws.com/compute-type", "aws"), ("karpenter.k8s.aws/instance-family", "aws"),
                   ("kubernetes.azure.com/cluster", "azure"))
SPOT_LABELS = (("cloud.google.com/gke-spot", "true"), ("cloud.google.com/gke-preemptible", "true"),
               ("eks.amazonaws.com/capacityType", "SPOT"), ("karpenter.sh/capacity-type", "spot"),
               ("kubernetes.azure.com/scalesetpriority", "spot"))
CHIP_RESOURCES = tuple(dict.fromkeys(names.RESOURCE_BY_VENDOR.values()))


def read_node_list(path: str | Path) -> list[dict]:
    """The nodes of a `kubectl get nodes -o json` file (a NodeList or a List of Nodes)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError("file not found", where=str(path)) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read: {exc.__class__.__name__}", where=str(path)) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"not valid JSON: {exc.msg}", where=f"{path}:{exc.lineno}") from None
    return nodes_of(doc, str(path))


def nodes_of(doc: object, where: str) -> list[dict]:
    """Check a parsed node list and return its items."""
    if not isinstance(doc, dict) or doc.get("kind") not in ("NodeList", "List") or \
            not isinstance(doc.get("items"), list):
        raise UserError("not a Kubernetes node list", where=where, field="kind",
                        allowed="the output of `kubectl get nodes -o json` (kind NodeList or List)")
    for i, item in enumerate(doc["items"]):
        if not isinstance(item, dict) or item.get("kind", "Node") != "Node" or \
                not isinstance(item.get("metadata"), dict):
            raise UserError("is not a Node object", where=where, field=f"items[{i}]")
    return doc["items"]


def nodes_from_cluster(context: str | None = None) -> list[dict]:  # pragma: no cover - needs a cluster
    """The nodes of the cluster the kubeconfig points at (needs the `kubernetes` package)."""
    try:
        from kubernetes import client, config
    except ImportError:
        raise UserError("reading a live cluster needs the kubernetes package",
                        allowed="pip install 'polyfleet[kubernetes]', or give a `kubectl get nodes -o json` file") \
            from None
    try:
        config.load_kube_config(context=context)
    except Exception as exc:  # the client raises ConfigException and friends
        raise UserError(f"cannot load the kubeconfig: {exc}", field="--context") from None
    api = client.ApiClient()
    nodes = client.CoreV1Api(api).list_node().items
    return [api.sanitize_for_serialization(n) for n in nodes]


def _chips(quantity: object) -> int | None:
    """A device-plugin quantity ("8") as an int; None when it is not a plain whole number."""
    try:
        value = float(str(quantity))
    except ValueError:
        return None
    return int(value) if value.is_integer() and value >= 0 else None


def _first(labels: dict, keys: Sequence[str]) -> str | None:
    return next((labels[k] for k in keys if labels.get(k)), None)


def _provider(node: dict, labels: dict) -> str | None:
    pid = str((node.get("spec") or {}).get("providerID") or "")
    if "://" in pid:
        return PROVIDER_IDS.get(pid.split("://")[0].lower())
    if pid.startswith("ocid1."):  # Oracle's cloud controller writes the instance OCID as it is
        return "oci"
    return next((prov for key, prov in PROVIDER_LABELS if key in labels), None)


def _accelerator(labels: dict, capacity: dict) -> tuple[str | None, str | None, str]:
    """(catalog accelerator, resource name, reason when not known) for a node."""
    instance = _first(labels, names.INSTANCE_LABELS) or ""
    if capacity.get("google.com/tpu") is not None:
        value = labels.get(names.TPU_ACCELERATOR_LABEL)
        acc = names.GKE_TPU.get(value or "")
        return acc, "google.com/tpu", "" if acc else f"TPU type '{value}' is not in the catalog"
    if capacity.get("aws.amazon.com/neuron") is not None or capacity.get(names.NEURONCORE_RESOURCE) is not None:
        acc = names.neuron_from_instance(instance)
        if capacity.get("aws.amazon.com/neuron") is None:
            return None, None, "advertises only aws.amazon.com/neuroncore; chips need aws.amazon.com/neuron"
        return acc, "aws.amazon.com/neuron", "" if acc else f"Neuron instance type '{instance}' is not known"
    for res, keys in (("nvidia.com/gpu", (names.NVIDIA_PRODUCT_LABEL, names.GKE_GPU_LABEL)),
                      ("amd.com/gpu", (names.AMD_PRODUCT_LABEL,))):
        if capacity.get(res) is not None:
            product = _first(labels, keys)
            if product is None:
                return None, res, f"{res} without a product label ({', '.join(keys)})"
            acc = names.gpu_from_product(product)
            return acc, res, "" if acc else f"GPU '{product}' is not in the catalog"
    return None, None, ""


def _health(node: dict) -> str | None:
    """Why the node cannot take work now, or None."""
    if (node.get("spec") or {}).get("unschedulable"):
        return "cordoned"
    conds = (node.get("status") or {}).get("conditions") or []
    ready = next((c for c in conds if c.get("type") == "Ready"), None)
    if ready is None or ready.get("status") != "True":
        return f"NotReady ({(ready or {}).get('reason') or 'no Ready condition'})"
    return None


def node_machine(node: dict, provider: str | None = None) -> Machine | Unmapped | None:
    """One node as a Machine; Unmapped with the reason; None for a node without accelerators."""
    meta, status = node.get("metadata") or {}, node.get("status") or {}
    name = str(meta.get("name") or "?")
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    capacity, allocatable = status.get("capacity") or {}, status.get("allocatable") or {}
    acc, res, why = _accelerator(labels, capacity)
    if res is None and not why:
        return None
    total = _chips(capacity.get(res)) if res else None
    if acc is None or total is None:
        return Unmapped(name, why or f"unreadable {res} capacity '{capacity.get(res)}'", total)
    prov = _provider(node, labels) or provider
    region = _first(labels, names.REGION_LABELS)
    if prov is None or region is None:
        missing = "provider (no spec.providerID or cloud labels; give --provider for such nodes)" if prov is None else \
            "region (no topology.kubernetes.io/region label)"
        return Unmapped(name, f"{acc} node with unknown {missing}", total)
    health = _health(node)
    alloc = _chips(allocatable.get(res, capacity.get(res)))
    healthy = 0 if health else min(alloc if alloc is not None else total, total)
    reason = health or (f"{total - healthy} of {total} chips not allocatable (unhealthy devices)"
                        if healthy < total else None)
    spot = any(labels.get(k, "").lower() == v.lower() for k, v in SPOT_LABELS)
    return Machine(name, prov, region, acc, healthy, total - healthy, "spot" if spot else "on_demand",
                   _first(labels, names.INSTANCE_LABELS), reason)


def fleet_from_nodes(nodes: Iterable[dict], catalog: Catalog, *, source: str = "nodes",
                     provider: str | None = None) -> FleetImport:
    """The fleet the nodes hold, mapped onto catalog offerings (see the module docstring)."""
    machines, lost, plain = [], [], 0
    for node in nodes:
        m = node_machine(node, provider)
        if m is None:
            plain += 1
        elif isinstance(m, Unmapped):
            lost.append(m)
        else:
            machines.append(m)
    notes = ("terms: spot from the nodes' capacity labels; commitments are not visible on nodes, so other nodes "
             "are on_demand (edit `term:` for reserved capacity)",)
    return collect(machines, catalog, source=source, kind="kubernetes", unmapped=lost, without_accelerators=plain,
                   notes=notes)

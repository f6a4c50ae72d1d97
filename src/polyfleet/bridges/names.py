"""How other systems name our accelerators: Kubernetes resources and node labels, SkyPilot names.

Sources (read 2026-11-30):
- GKE TPU node labels `cloud.google.com/gke-tpu-accelerator` / `gke-tpu-topology`, resource
  `google.com/tpu` and taint `google.com/tpu=present:NoSchedule`:
  https://cloud.google.com/kubernetes-engine/docs/concepts/plan-tpus and
  https://cloud.google.com/kubernetes-engine/docs/how-to/tpus
- GKE GPU label `cloud.google.com/gke-accelerator`, taint `nvidia.com/gpu=present:NoSchedule`:
  https://cloud.google.com/kubernetes-engine/docs/how-to/gpus
- Neuron device plugin resources `aws.amazon.com/neuron` (devices = chips) and
  `aws.amazon.com/neuroncore`: https://awsdocs-neuron.readthedocs-hosted.com/en/latest/containers/tutorials/k8s-neuron-device-plugin.html
- NVIDIA GPU feature discovery label `nvidia.com/gpu.product`, resource `nvidia.com/gpu`:
  https://github.com/NVIDIA/k8s-device-plugin/blob/main/docs/gpu-feature-discovery/README.md
- AMD device plugin resource `amd.com/gpu`, node labeller `amd.com/gpu.product-name`:
  https://instinct.docs.amd.com/projects/k8s-device-plugin/en/latest/
- Well-known labels `topology.kubernetes.io/region|zone`, `node.kubernetes.io/instance-type`:
  https://kubernetes.io/docs/reference/labels-annotations-taints/
- SkyPilot accelerator names: skypilot-catalog `catalogs/v7|v8/<cloud>/vms.csv` (see catalog/skypilot.py).
"""

from __future__ import annotations

import re

from ..catalog import Accelerator

REGION_LABELS = ("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region")
INSTANCE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
TPU_ACCELERATOR_LABEL = "cloud.google.com/gke-tpu-accelerator"
GKE_GPU_LABEL = "cloud.google.com/gke-accelerator"
NVIDIA_PRODUCT_LABEL = "nvidia.com/gpu.product"
AMD_PRODUCT_LABEL = "amd.com/gpu.product-name"

# Kubernetes extended resource per vendor: one unit is one chip (a Neuron *device* is one chip)
RESOURCE_BY_VENDOR = {"google": "google.com/tpu", "aws": "aws.amazon.com/neuron", "nvidia": "nvidia.com/gpu",
                      "amd": "amd.com/gpu"}
NEURONCORE_RESOURCE = "aws.amazon.com/neuroncore"

# GKE TPU accelerator label value <-> catalog accelerator id
GKE_TPU = {"tpu-v5-lite-podslice": "tpu-v5e", "tpu-v5p-slice": "tpu-v5p", "tpu-v6e-slice": "tpu-v6e",
           "tpu7x": "tpu-v7"}
GKE_TPU_LABEL_OF = {v: k for k, v in GKE_TPU.items()}
# GKE GPU accelerator label values (gke-accelerator) for the catalog's GPUs
GKE_GPU_LABEL_OF = {"h100": "nvidia-h100-80gb", "h200": "nvidia-h200-141gb", "b200": "nvidia-b200",
                    "gb200": "nvidia-gb200", "a100-80gb": "nvidia-a100-80gb"}
# taints the platforms put on accelerator nodes (key, value, effect)
TAINTS = {"tpu": ("google.com/tpu", "present", "NoSchedule"), "gke-gpu": ("nvidia.com/gpu", "present", "NoSchedule")}

# EC2 instance family -> catalog accelerator (Trainium / Inferentia)
NEURON_FAMILIES = {"trn1": "trn1", "trn1n": "trn1", "trn2": "trn2", "trn2u": "trn2", "trn3": "trn3", "inf2": "inf2"}

# SkyPilot's spelling of each catalog accelerator (GPUs and Neuron chips; TPUs are named by slice)
SKYPILOT_NAME = {"h100": "H100", "h200": "H200", "b200": "B200", "gb200": "GB200", "a100-80gb": "A100-80GB",
                 "mi300x": "MI300X", "mi325x": "MI325X", "trn1": "Trainium", "trn2": "Trainium2",
                 "trn3": "Trainium3", "inf2": "Inferentia2"}

def k8s_resource(acc: Accelerator) -> str:
    """The Kubernetes extended resource that counts this accelerator's chips on a node."""
    return RESOURCE_BY_VENDOR[acc.vendor]


def gpu_from_product(product: str) -> str | None:
    """Catalog id for an NVIDIA/AMD product label value (`NVIDIA-H100-80GB-HBM3`, `AMD_Instinct_MI300X`),
    or None where the catalog has no such chip (an A100 40GB, an L4, ...)."""
    p = product.lower().replace("_", "-")
    if "gb200" in p:
        return "gb200"
    for chip in ("h200", "b200", "h100", "mi325x", "mi300x"):
        if chip in p:
            return chip
    if "a100" in p:
        return "a100-80gb" if "80gb" in p else None
    return None


def neuron_from_instance(instance_type: str) -> str | None:
    """Catalog id for an EC2 Trainium/Inferentia instance type (`trn2.48xlarge` -> trn2)."""
    family = instance_type.split(".")[0].lower()
    return NEURON_FAMILIES.get(family)


def dns_label(text: str, limit: int = 63) -> str:
    """A Kubernetes object name (RFC 1123 label) made from any text: lowercase, [a-z0-9-]."""
    out = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    out = re.sub(r"-{2,}", "-", out)
    return out[:limit].rstrip("-") or "x"

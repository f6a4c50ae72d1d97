"""How other systems spell our chips: product labels, instance types, object names."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from polyfleet.bridges import names
from polyfleet.catalog import load_catalog


@pytest.mark.parametrize("product, chip", [
    ("NVIDIA-H100-80GB-HBM3", "h100"), ("NVIDIA-H200", "h200"), ("NVIDIA-B200", "b200"),
    ("NVIDIA-GB200", "gb200"), ("NVIDIA-A100-SXM4-80GB", "a100-80gb"), ("NVIDIA-A100-SXM4-40GB", None),
    ("nvidia-h100-80gb", "h100"), ("AMD_Instinct_MI300X", "mi300x"), ("AMD_Instinct_MI325X", "mi325x"),
    ("NVIDIA-L4", None), ("", None)])
def test_gpu_product_labels(product, chip):
    assert names.gpu_from_product(product) == chip


@pytest.mark.parametrize("instance, chip", [("trn1.32xlarge", "trn1"), ("trn1n.32xlarge", "trn1"),
                                            ("trn2.48xlarge", "trn2"), ("trn2u.48xlarge", "trn2"),
                                            ("inf2.48xlarge", "inf2"), ("p5.48xlarge", None), ("", None)])
def test_neuron_instance_types(instance, chip):
    assert names.neuron_from_instance(instance) == chip


def test_every_catalog_chip_has_a_kubernetes_resource_and_gke_tpu_labels_round_trip():
    cat = load_catalog()
    for acc in cat.accelerators.values():
        assert names.k8s_resource(acc) in ("google.com/tpu", "aws.amazon.com/neuron", "nvidia.com/gpu", "amd.com/gpu")
    for label, chip in names.GKE_TPU.items():
        assert chip in cat.accelerators and names.GKE_TPU_LABEL_OF[chip] == label
    assert set(names.SKYPILOT_NAME) <= set(cat.accelerators)


@given(st.text(max_size=120))
def test_dns_labels_are_valid_object_names(text):
    out = names.dns_label(text)
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", out) and len(out) <= 63


def test_dns_label_keeps_readable_names():
    assert names.dns_label("Self Serve/EU") == "self-serve-eu"
    assert names.dns_label("tpu-v6e--gcp") == "tpu-v6e-gcp"

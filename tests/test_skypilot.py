"""Importing SkyPilot's vms.csv: every quirk from the research notes, on rows written in that format."""

from __future__ import annotations

import pytest

from polyfleet.catalog import load_catalog
from polyfleet.catalog.skypilot import read_skypilot_csv

GCP = """InstanceType,vCPUs,MemoryGiB,AcceleratorName,AcceleratorCount,GpuInfo,Region,AvailabilityZone,Price,SpotPrice
,,,tpu-v5litepod-8,1,tpu-v5litepod-8,us-central1,us-central1-a,9.6,1.70383
,,,tpu-v5p-8,1,tpu-v5p-8,us-central1,us-central1-a,16.8,6.72
,,,tpu-v5p-8,1,tpu-v5p-8,us-central1,us-central1-b,16.8,6.5
,,,tpu-v6e-1,1,tpu-v6e-1,asia-east1,asia-east1-c,700.0,700.0
,,,H100,8,{'Gpus': [{'MemoryInfo': {'SizeInMiB': 81920}}]},us-central1,us-central1-a,33.60609,18.024
a3-highgpu-1g,26.0,234.0,,,,us-central1,us-central1-a,1.18251,0.27193
,,,L4,1,{},us-central1,us-central1-a,0.5,0.2
"""
AWS = """InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,Region,AvailabilityZone
p5.48xlarge,H100,8.0,192.0,2048.0,"{'Gpus': [{'Name': 'H100', 'Count': 8}]}",98.32,30.326000,us-east-1,use1-az1
p5.48xlarge,H100,8.0,192.0,2048.0,"{'Gpus': [{'Name': 'H100', 'Count': 8}]}",98.32,21.0,us-east-1,use1-az2
trn2.48xlarge,,,192.0,2048.0,,85.964,,us-east-2,use2-az1
"""


@pytest.fixture
def files(tmp_path):
    (tmp_path / "gcp").mkdir()
    (tmp_path / "aws").mkdir()
    g, a = tmp_path / "gcp" / "vms.csv", tmp_path / "aws" / "vms.csv"
    g.write_text(GCP)
    a.write_text(AWS)
    return g, a


def _by(data):
    return {(o["accelerator"], o["instance"], r): p for o in data["offerings"] for r, p in o["regions"].items()}


def test_gcp_quirks(files):
    data = read_skypilot_csv(files[0])
    rows = _by(data)
    # v5litepod counts chips: 8 chips at 9.6/h = 1.20 per chip
    assert rows[("tpu-v5e", "tpu-v5litepod-8", "us-central1")]["on_demand"]["value"] == pytest.approx(1.20)
    # v5p counts TensorCores: v5p-8 is 4 chips -> 4.20 per chip; zone rows reduced to the cheapest spot
    v5p = rows[("tpu-v5p", "tpu-v5p-8", "us-central1")]
    assert v5p["on_demand"]["value"] == pytest.approx(4.20)
    assert v5p["spot"]["value"] == pytest.approx(6.5 / 4)
    # 700.0 is the no-price placeholder
    assert rows[("tpu-v6e", "tpu-v6e-1", "asia-east1")] == {}
    # GPU rows carry the accelerator only: the host VM row (1-GPU host x 8) is added per chip
    h100 = rows[("h100", "a3-highgpu-8g", "us-central1")]
    assert h100["on_demand"]["value"] == pytest.approx(33.60609 / 8 + 1.18251)
    assert h100["spot"]["value"] == pytest.approx(18.024 / 8 + 0.27193)
    assert h100["on_demand"]["status"] == "derived"
    assert data["skipped"] == {"L4": 1}


def test_aws_column_order_and_missing_accelerator_name(files):
    rows = _by(read_skypilot_csv(files[1]))
    p5 = rows[("h100", "p5.48xlarge", "us-east-1")]
    assert p5["on_demand"]["value"] == pytest.approx(98.32 / 8)
    assert p5["spot"]["value"] == pytest.approx(21.0 / 8)        # cheapest zone
    trn2 = rows[("trn2", "trn2.48xlarge", "us-east-2")]           # no AcceleratorName: from the instance family
    assert trn2["on_demand"]["value"] == pytest.approx(85.964 / 16)
    assert "spot" not in trn2                                     # empty SpotPrice: no spot offer


def test_import_merges_into_catalog(files):
    cat = load_catalog(*files)
    assert cat.offering("aws/trn2.48xlarge/us-east-2").on_demand.status == "catalog"
    assert cat.offering("gcp/a3-highgpu-8g/us-central1").on_demand.value == pytest.approx(33.60609 / 8 + 1.18251)
    assert "gcp/asia-east1" in cat.regions       # a region the built-ins did not know

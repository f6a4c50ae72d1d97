"""SkyPilot: the cluster list read into pools, and service/task YAML checked by SkyPilot's own schemas
and parsers, offline (no credentials, no catalog download)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from polyfleet.bridges import fleet_from_status, read_status
from polyfleet.bridges.placement import scenario_placement
from polyfleet.bridges.skypilot_export import export_skypilot, options_for
from polyfleet.bridges.skypilot_status import cluster_machine
from polyfleet.catalog import load_catalog
from polyfleet.errors import UserError
from polyfleet.scenario import load_scenario

DATA = Path(__file__).parent / "data"
STATUS = DATA / "skypilot" / "status.json"


@pytest.fixture(scope="module")
def sky():
    return pytest.importorskip("sky", reason="the skypilot package (installed by the test extra) is missing")


def test_status_fixture_matches_skypilots_own_record_model(sky):
    from sky.schemas.api.responses import StatusResponse
    recs = json.loads(STATUS.read_text())
    assert recs
    for rec in recs:   # model_validate raises on a record SkyPilot's own model refuses
        assert StatusResponse.model_validate(rec).name == rec["name"]


def test_clusters_become_pools_by_hand_count():
    fi = fleet_from_status(read_status(STATUS), load_catalog(), source="status.json")
    pools = {(p.offering, p.term): p for p in fi.pools}
    assert pools[("gcp/tpu-v6e-8/us-east5", "on_demand")].units == 2          # 2 nodes x tpu-v6e-8
    assert pools[("gcp/tpu-v5p-8/us-east5", "on_demand")].healthy_chips == 4  # v5p-8 counts TensorCores: 4 chips
    assert pools[("aws/p5.48xlarge/us-east-1", "spot")].healthy_chips == 24   # 3 nodes x H100:8, [spot]
    trn2 = pools[("aws/trn2.48xlarge/us-east-2", "on_demand")]
    assert (trn2.healthy_chips, trn2.degraded_chips, trn2.units) == (0, 16, 0)  # INIT: degraded
    assert pools[("lambda/gpu_8x_b200_sxm6/us-south-1", "on_demand")].units == 1
    why = {u.name: u.reason for u in fi.problems()}
    assert "stopped" in why["old-a100"] and "Kubernetes" in why["k8s-dev"]
    assert fi.without_accelerators == 1


def test_unreadable_records_say_why():
    base = {"name": "x", "status": "UP", "nodes": 1, "cloud": "AWS", "region": "us-east-1"}
    assert "unreadable" in cluster_machine({**base, "accelerators": "{'H100': "}).reason
    assert "not in the catalog" in cluster_machine({**base, "accelerators": "{'L4': 1}"}).reason
    assert "not a catalog provider" in cluster_machine({**base, "cloud": "Vast", "accelerators": "{'H100': 1}"}).reason


def test_bad_status_files(tmp_path):
    f = tmp_path / "s.json"
    f.write_text('{"name": "x"}')
    with pytest.raises(UserError, match="not a SkyPilot cluster list"):
        read_status(f)
    f.write_text('[{"name": "x"}]')
    with pytest.raises(UserError, match=r"\[0\].*missing status, nodes"):
        read_status(f)


@pytest.fixture(scope="module")
def exported():
    scn = load_scenario(DATA / "scenarios" / "small-fleet.yaml")
    sp = scenario_placement(scn)
    return scn, sp, export_skypilot(sp, scn.context().catalog)


def test_every_file_passes_skypilots_task_resources_and_service_schemas(sky, exported):
    from sky.serve.service_spec import SkyServiceSpec
    from sky.utils import common_utils, schemas
    _, _, files = exported
    assert set(files) == {"service-chat.yaml", "service-code.yaml", "train-finetune.yaml"}
    for name, text in files.items():
        doc = yaml.safe_load(text)
        common_utils.validate_schema(doc, schemas.get_task_schema(), f"{name}: ")
        for entry in doc["resources"]["ordered"]:
            common_utils.validate_schema(entry, schemas.get_resources_schema(), f"{name}: ")
        if "service" in doc:
            common_utils.validate_schema(doc["service"], schemas.get_service_schema(), f"{name}: ")
            spec = SkyServiceSpec.from_yaml_config(doc["service"])
            assert spec.min_replicas <= spec.max_replicas
        task = sky.Task.from_yaml_config(doc)                 # SkyPilot's own parser builds the task
        assert len(task.resources) == len(yaml.safe_load(text)["resources"]["ordered"])


def test_the_schema_check_can_fail(sky):
    from sky.exceptions import InvalidSkyPilotConfigError
    from sky.utils import common_utils, schemas
    with pytest.raises(InvalidSkyPilotConfigError):
        common_utils.validate_schema({"resources": {"ordered": []}, "num_nodes": "two"}, schemas.get_task_schema(), "")
    with pytest.raises(InvalidSkyPilotConfigError):
        common_utils.validate_schema({"acceleratorz": {"H100": 1}}, schemas.get_resources_schema(), "")


def test_options_are_ordered_cheapest_per_token_first(exported):
    scn, sp, _ = exported
    cat = scn.context().catalog
    cost = sp.table.usd_per_million_tokens()
    for w in ("chat", "code"):
        opts = options_for(sp, cat, w)
        costs = [o.usd_per_mtok for o in opts]
        assert costs == sorted(costs) and costs
        assert all(abs(o.usd_per_mtok - cost[sp.table.w(w), sp.table.o(o.offering)]) < 1e-9 for o in opts)


def test_accelerators_are_spelled_as_skypilot_does(exported):
    scn, sp, files = exported
    chat = yaml.safe_load(files["service-chat.yaml"])
    names = {k for e in chat["resources"]["ordered"] for k in e["accelerators"]}
    table = sp.table
    for e in chat["resources"]["ordered"]:
        (name, count), = e["accelerators"].items()
        if name.startswith("tpu-v6e"):
            # a v6e slice name counts chips: the rate table's chips per replica
            o = next(o for o in table.offerings if o.startswith("gcp/tpu-v6e-8/" + e["region"]))
            assert name == f"tpu-v6e-{int(table.chips_per_unit[table.w('chat'), table.o(o)])}" and count == 1
    assert names <= {"H100", "H200", "B200", "GB200", "A100-80GB", "MI300X", "Trainium", "Trainium2",
                     "Inferentia2"} | {n for n in names if n.startswith("tpu")}


def test_replica_policy_comes_from_the_placement(exported):
    scn, sp, files = exported
    pl = sp.fleet.inference
    for svc in scn.workloads.services:
        doc = yaml.safe_load(files[f"service-{svc.id}.yaml"])
        policy = doc["service"]["replica_policy"]
        s = pl.services.index(svc.id)
        placed = int(pl.replicas[s].sum())
        assert policy["max_replicas"] == placed
        # min: what the mean demand needs (peak / peak_factor), rounded up
        assert policy["min_replicas"] == math.ceil(placed / svc.peak_factor)
        out_tokens = svc.service().mix.mean_output_tokens
        assert policy["target_qps_per_replica"] == pytest.approx(
            pl.capacity_tokens_per_s[s].sum() / placed / out_tokens, rel=1e-3)


def test_training_task_is_one_gang(exported):
    _, sp, files = exported
    doc = yaml.safe_load(files["train-finetune.yaml"])
    assert doc["envs"]["GANG_CHIPS"] == str(sp.gang_chips["finetune"]) == "8"
    for e in doc["resources"]["ordered"]:
        (name, count), = e["accelerators"].items()
        chips = count * doc["num_nodes"] if not name.startswith("tpu") else int(name.rsplit("-", 1)[1]) * doc["num_nodes"]
        assert chips == 8 or name.startswith("tpu-v5p")      # v5p names count TensorCores

"""The built-in catalog: every figure sourced, names resolved, unknowns kept unknown."""

from __future__ import annotations

import pytest

from polyfleet.catalog import TERMS, load_catalog
from polyfleet.catalog.load import ACCELERATOR_FIGURES
from polyfleet.errors import UnknownNameError, UserError

CANONICAL = ["tpu-v5e", "tpu-v5p", "tpu-v6e", "tpu-v7", "trn1", "trn2", "trn3", "inf2", "a100-80gb", "h100", "h200", "b200", "gb200", "mi300x"]


def test_canonical_accelerators_present():
    cat = load_catalog()
    assert set(CANONICAL) <= set(cat.accelerators)


@pytest.mark.parametrize("alias,expected", [("ironwood", "tpu-v7"), ("TPU7x", "tpu-v7"), ("trillium", "tpu-v6e"),
                                            ("h100-sxm", "h100"), ("Trainium2", "trn2"), ("gb200-nvl72", "gb200")])
def test_aliases_resolve(alias, expected):
    assert load_catalog().accelerator(alias).id == expected


def test_unknown_name_suggests_closest():
    with pytest.raises(UnknownNameError) as err:
        load_catalog().accelerator("h1000")
    assert "h100" in err.value.suggestions


def test_every_known_figure_has_source_and_status():
    cat = load_catalog()
    for acc in cat.accelerators.values():
        for field in ACCELERATOR_FIGURES:
            fig = getattr(acc, field)
            if fig.known:
                assert fig.source and fig.status, (acc.id, field)
        for field, fig in acc.assumed.items():
            assert fig.assumed and fig.status == "estimate" and fig.note, (acc.id, field)
            assert not getattr(acc, field).known, f"{acc.id}.{field}: an assumption must not shadow a known figure"
    for off in cat.offerings.values():
        for term in TERMS:
            fig = off.price(term)
            if fig.known:
                assert fig.source and fig.status and fig.as_of, (off.id, term)
                assert fig.value > 0


def test_unpublished_figures_stay_unknown():
    cat = load_catalog()
    assert not cat.accelerator("tpu-v7").tdp_watts.known          # Google does not publish TPU power
    assert cat.accelerator("tpu-v7").figure("tdp_watts").assumed   # ... an assumption stands in, labelled
    assert all(not o.on_demand.known for o in cat.offerings_of("tpu-v7"))  # no public Ironwood price
    assert all(not o.on_demand.known for o in cat.offerings_of("trn3"))


def test_every_required_provider_kind_present():
    cat = load_catalog()
    assert {"gcp", "aws", "azure"} <= set(cat.providers)
    assert any(p.kind == "neocloud" for p in cat.providers.values())
    offered = {(o.provider, cat.accelerators[o.accelerator].family) for o in cat.offerings.values()}
    assert {("gcp", "tpu"), ("gcp", "gpu"), ("aws", "trainium"), ("aws", "gpu"), ("azure", "gpu")} <= offered


def test_filter_by_family_and_provider():
    cat = load_catalog().filter(families=["tpu"], providers=["gcp"])
    assert {a.family for a in cat.accelerators.values()} == {"tpu"}
    assert {o.provider for o in cat.offerings.values()} == {"gcp"}


def test_yaml_override_merges_over_builtins(tmp_path):
    f = tmp_path / "ours.yaml"
    f.write_text("""
sources:
  contract: {ref: "our 2026 GCP contract", status: user, as_of: 2026-10-01}
offerings:
  - provider: gcp
    accelerator: ironwood
    instance: tpu7x-8
    unit_chips: 4
    source: contract
    regions:
      us-central1: {commit_1y: 3.10}
accelerators:
  - id: h100
    tdp_watts: {value: 650, source: "our measurement", status: user}
""")
    cat = load_catalog(f)
    off = cat.offering("gcp/tpu7x-8/us-central1")
    assert off.commit_1y.value == 3.10 and off.commit_1y.status == "user"
    assert not off.on_demand.known                       # not mentioned: stays as built in
    h100 = cat.accelerator("h100")
    assert h100.tdp_watts.value == 650 and h100.bf16_tflops.value == 989.4   # other figures kept
    assert load_catalog().accelerator("h100").tdp_watts.value == 700          # built-ins untouched


def test_override_adds_a_new_chip(tmp_path):
    f = tmp_path / "new.yaml"
    f.write_text("""
accelerators:
  - id: mi355x
    name: AMD Instinct MI355X
    vendor: amd
    family: gpu
    platform: rocm
    year: 2025
    source: "vendor datasheet"
    bf16_tflops: 2500
    hbm_gb: 288
    hbm_tbps: 8.0
    scaleup_chips: 8
""")
    acc = load_catalog(f).accelerator("mi355x")
    assert acc.hbm_gb.value == 288 and acc.hbm_gb.status == "user"


def test_bad_override_names_file_line_and_field(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("accelerators:\n  - id: tpu-v9\n    name: x\n    vendor: intel\n")
    with pytest.raises(UserError) as err:
        load_catalog(f)
    msg = str(err.value)
    assert "bad.yaml:4" in msg and "accelerators[0].vendor" in msg and "google" in msg


def test_override_with_unknown_accelerator_suggests(tmp_path):
    f = tmp_path / "o.yaml"
    f.write_text("offerings:\n  - {provider: aws, accelerator: trainum2, instance: x, unit_chips: 16, "
                 "regions: {us-east-1: {on_demand: [2.0, src]}}}\n")
    with pytest.raises(UserError, match="trainium2"):
        load_catalog(f)


def test_price_csv_override(tmp_path):
    f = tmp_path / "prices.csv"
    f.write_text("provider,accelerator,instance,region,unit_chips,on_demand,spot,commit_1y,commit_3y,source,status,as_of\n"
                 "aws,trn2,trn2.48xlarge,us-east-2,16,4.00,,3.10,,negotiated,user,2026-09-01\n")
    off = load_catalog(f).offering("aws/trn2.48xlarge/us-east-2")
    assert off.on_demand.value == 4.0 and off.commit_1y.value == 3.10
    assert not off.spot.known                         # an empty cell means unknown, as documented
    assert off.on_demand.as_of.isoformat() == "2026-09-01" and off.on_demand.status == "user"


def test_price_csv_without_a_column_keeps_the_built_in_price(tmp_path):
    f = tmp_path / "prices.csv"
    f.write_text("provider,accelerator,instance,region,unit_chips,on_demand\n"
                 "aws,trn2,trn2.48xlarge,us-east-2,16,4.00\n")
    off = load_catalog(f).offering("aws/trn2.48xlarge/us-east-2")
    assert off.on_demand.value == 4.0 and off.spot.value == 1.44


def test_price_csv_adds_a_provider(tmp_path):
    """A provider the catalog does not know comes in with provider_name/provider_kind columns."""
    f = tmp_path / "prices.csv"
    f.write_text("provider,provider_name,provider_kind,accelerator,instance,region,unit_chips,on_demand,spot,as_of\n"
                 "CoreWeave,CoreWeave,neocloud,h100,gd-8xh100ib-i128,us-east-04,8,6.155,,2026-10-01\n")
    cat = load_catalog(f)
    assert cat.provider("coreweave").kind == "neocloud" and cat.provider("coreweave").name == "CoreWeave"
    off = cat.offering("coreweave/gd-8xh100ib-i128/us-east-04")
    assert off.on_demand.value == pytest.approx(6.155) and not off.spot.known
    assert "coreweave/us-east-04" in cat.regions


def test_price_csv_unknown_provider_says_how_to_add_it(tmp_path):
    f = tmp_path / "prices.csv"
    f.write_text("provider,accelerator,instance,region,unit_chips,on_demand\nhyperfab,h100,x,us-east-04,8,6\n")
    with pytest.raises(UserError, match="unknown provider .hyperfab..*provider_name"):
        load_catalog(f)


@pytest.mark.parametrize("cell", ["-1", "0", "nan", "inf"])
def test_price_csv_rejects_what_is_not_a_price(tmp_path, cell):
    f = tmp_path / "prices.csv"
    f.write_text(f"provider,accelerator,instance,region,unit_chips,on_demand\naws,trn2,x,us-east-2,16,{cell}\n")
    with pytest.raises(UserError, match=r"prices.csv:2.*on_demand"):
        load_catalog(f)


def test_offering_ids_are_shell_safe(tmp_path):
    """An instance name with a space or shell characters still gives an id a shell passes as one word."""
    import re
    f = tmp_path / "c.yaml"
    f.write_text("offerings:\n  - {provider: aws, accelerator: trn3, instance: 'trn3 Gen2 $Ultra(server)', unit_chips: 64, "
                 "regions: {us-east-2: {}}}\n")
    cat = load_catalog(f)
    assert "aws/trn3-Gen2-Ultra-server/us-east-2" in cat.offerings
    assert all(re.fullmatch(r"[A-Za-z0-9._+/-]+", oid) for oid in cat.offerings)


def test_price_csv_bad_number(tmp_path):
    f = tmp_path / "prices.csv"
    f.write_text("provider,accelerator,instance,region,unit_chips,on_demand\naws,trn2,x,us-east-2,16,cheap\n")
    with pytest.raises(UserError, match=r"prices.csv:2.*on_demand"):
        load_catalog(f)


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_catalog(tmp_path / "nope.yaml")


@pytest.mark.parametrize("text,kind", [("- a\n- b\n", "list"), ("just text\n", "str")])
def test_a_catalog_file_that_is_no_mapping_is_one_clear_error(tmp_path, text, kind):
    """A list or a bare word at the top is refused naming the file and the sections allowed (it used to
    end in an AttributeError while the reader looked for `sources:`)."""
    f = tmp_path / "cat.yaml"
    f.write_text(text)
    with pytest.raises(UserError) as err:
        load_catalog(f)
    assert err.value.where.endswith("cat.yaml") and f"not a {kind}" in str(err.value)
    assert "offerings" in err.value.allowed and "accelerators" in err.value.allowed

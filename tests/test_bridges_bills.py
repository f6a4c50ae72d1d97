"""Bills: measured prices derived by hand from the fixture lines, written as a catalog override whose
figures carry status `measured` and replace the catalog's price for that term only."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from polyfleet.bridges import read_bill
from polyfleet.catalog import load_catalog
from polyfleet.datafile import DataFile
from polyfleet.errors import UserError

BILLS = Path(__file__).parent / "data" / "bills"


@pytest.fixture(scope="module")
def cat():
    return load_catalog()


def prices(bill):
    return {(r["offering"], r["term"]): r for r in bill.prices()}


def test_aws_cur2_prices_by_hand(cat):
    b = read_bill(BILLS / "aws-cur2.csv", cat)
    p = prices(b)
    assert b.layout == "aws-cur2"
    # p5.48xlarge on demand: 200 + 300 instance-hours x 8 GPUs = 4,000 chip-hours for $11,008 + $16,512
    od = p[("aws/p5.48xlarge/us-east-1", "on_demand")]
    assert od["chip_hours"] == 4000 and od["usd"] == pytest.approx(27520.0)
    assert od["usd_per_chip_hour"] == pytest.approx(27520.0 / 4000)
    # spot (pricing_term Spot, SpotUsage): 100 h x 8 = 800 chip-hours for $1,200 -> $1.50
    assert p[("aws/p5.48xlarge/us-east-1", "spot")]["usd_per_chip_hour"] == pytest.approx(1.5)
    # Savings Plan: the effective cost ($86,400), not the on-demand equivalent, over 1,440 h x 16 chips
    assert p[("aws/trn2.48xlarge/us-east-2", "commit_1y")]["usd_per_chip_hour"] == pytest.approx(86400 / 23040)
    # reserved (3yr): reservation effective cost $8,000 over 744 h x 16 chips
    assert p[("aws/trn1.32xlarge/us-east-1", "commit_3y")]["usd_per_chip_hour"] == pytest.approx(8000 / 11904)
    assert len(p) == 4
    # m6i ($50), the Savings Plan fee ($72,000) and tax ($100) are not accelerator usage
    assert b.other_usd == pytest.approx(72150.0)
    assert len(b.unmapped) == 1 and "us-west-1" in b.unmapped[0].reason


def test_gcp_billing_export_prices_by_hand(cat):
    b = read_bill(BILLS / "gcp-billing-export.csv", cat)
    p = prices(b)
    assert b.layout == "gcp-billing-export"
    # on demand: $15,768 less a $1,576.80 credit over 5,840 chip-hours
    assert p[("gcp/tpu-v6e-8/us-east5", "on_demand")]["usd_per_chip_hour"] == pytest.approx((15768 - 1576.8) / 5840)
    assert p[("gcp/tpu-v6e-8/us-east5", "spot")]["usd_per_chip_hour"] == pytest.approx(1.08)
    assert p[("gcp/tpu-v6e-8/us-east5", "commit_1y")]["usd_per_chip_hour"] == pytest.approx(5518.8 / 2920)
    why = " ".join(u.reason for u in b.unmapped)
    assert "europe-west1" in why and "host VM" in why
    assert b.other_usd == pytest.approx(31.61)          # the N2 core line; the GPU line is reported, not hidden


def test_average_chips_held_per_month(cat):
    b = read_bill(BILLS / "aws-cur2.csv", cat)
    sept = next(x for x in b.paid if x.offering == "aws/p5.48xlarge/us-east-1" and x.term == "on_demand"
                and x.month == "2026-09")
    assert sept.avg_chips == pytest.approx(1600 / (30 * 24))       # September has 30 days


def test_measured_prices_override_the_catalog_for_their_term_only(cat):
    b = read_bill(BILLS / "aws-cur2.csv", cat)
    section = b.catalog_section(cat)
    assert all(s["status"] == "measured" for s in section["sources"].values())
    merged = load_catalog(DataFile(yaml.safe_dump(section), "bill override"))
    trn2 = merged.offering("aws/trn2.48xlarge/us-east-2")
    assert trn2.commit_1y.value == pytest.approx(3.75) and trn2.commit_1y.status == "measured"
    assert "23,040 chip-hours" in trn2.commit_1y.note
    base = cat.offering("aws/trn2.48xlarge/us-east-2")
    assert trn2.on_demand == base.on_demand and trn2.spot == base.spot          # untouched terms stay
    assert merged.offering("aws/p5.48xlarge/us-east-1").spot.value == pytest.approx(1.5)


def test_measured_prices_reach_a_scenario(cat, tmp_path):
    from polyfleet.scenario import load_scenario
    section = read_bill(BILLS / "gcp-billing-export.csv", cat).catalog_section(cat)
    scn = load_scenario({"name": "b", "catalog": section, "workloads": {"services": [
        {"id": "s", "model": "llama-3.1-8b", "tokens_per_s": 100}]}})
    off = scn.context().catalog.offering("gcp/tpu-v6e-8/us-east5")
    assert off.on_demand.status == "measured" and off.on_demand.value == pytest.approx(2.43)


@pytest.mark.parametrize("header, row, what", [
    ("a,b,c", "1,2,3", "not a bill layout"),
    ("bill_billing_period_start_date,line_item_line_item_type,line_item_usage_type,line_item_usage_amount,"
     "line_item_unblended_cost,product_instance_type,product_region_code",
     "2026-09-01,Usage,USE1-BoxUsage:p5.48xlarge,ten,1.0,p5.48xlarge,us-east-1", "line_item_usage_amount"),
    ("bill_billing_period_start_date,line_item_line_item_type,line_item_usage_type,line_item_usage_amount,"
     "line_item_unblended_cost,product_instance_type,product_region_code",
     "2026-09-01,Usage,USE1-BoxUsage:p5.48xlarge,10,nan,p5.48xlarge,us-east-1", "finite"),
])
def test_bad_bills_name_file_line_and_field(tmp_path, cat, header, row, what):
    f = tmp_path / "bill.csv"
    f.write_text(header + "\n" + row + "\n")
    with pytest.raises(UserError) as err:
        read_bill(f, cat)
    assert what in str(err.value) and "bill.csv" in str(err.value)
    if what != "not a bill layout":
        assert "bill.csv:2" in str(err.value)


def test_cli_import_bill_writes_a_catalog_override(run_cli, tmp_path):
    out = tmp_path / "paid.yaml"
    code, stdout, err = run_cli("import", "bill", str(BILLS / "aws-cur2.csv"), "--out", str(out))
    assert code == 0, err
    assert "3.750" in stdout
    doc = yaml.safe_load(out.read_text())
    assert set(doc) == {"sources", "offerings"}
    code, stdout, err = run_cli("--catalog", str(out), "catalog", "--what", "offerings", "--format", "json")
    assert code == 0, err
    assert "measured" in stdout

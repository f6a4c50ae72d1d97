"""Numbers as a reader takes them in (report/units.py): money and power that scale with their size,
counts with separators, "n/a" for unknown (never 0), no "-0.0%", shares without rounding noise, and
plurals that agree. Cases are hand-derived, away from round numbers where a wrong rule looks right."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from polyfleet.cli.common import money as cli_money, pct as cli_pct
from polyfleet.report.tables import jsonable, num, sig
from polyfleet.report.units import NA, count, megawatts, money, pct, plural, power, share


@pytest.mark.parametrize("usd,text", [
    (17_654_321, "$17.7M"),        # the review's "$0.02B"
    (1_234_567_890, "$1.23B"),
    (850_000, "$850K"),
    (12_345, "$12.3K"),
    (9_876.4, "$9,876"),
    (999_950, "$1.00M"),           # rounds up into the next unit, never "$1000K"
    (4.5e12, "$4.50T"),
    (12.345, "$12.35"),
    (0.0, "$0"),
    (-0.0, "$0"),
    (-1e-9, "$0"),                 # solver noise is not "-$0.00"
    (-1_500_000, "-$1.50M"),
    (None, NA),
    (float("nan"), NA),
    (float("inf"), NA),
])
def test_money_scales_with_its_size(usd, text):
    assert money(usd) == text


@pytest.mark.parametrize("watts,text", [
    (72 * 750, "54.0 kW"),         # 72 MI300X: the review's "MW 0"
    (999_999, "1.00 MW"),
    (17_700_000, "17.7 MW"),
    (2.957e9, "2.96 GW"),
    (350, "350 W"),
    (0, "0 W"),
    (None, NA),
])
def test_power_uses_kilowatts_below_a_megawatt(watts, text):
    assert power(watts) == text


def test_megawatts_is_power_of_a_figure_in_mw():
    assert megawatts(0.054) == "54.0 kW" and megawatts(656.2) == "656 MW" and megawatts(None) == NA


@pytest.mark.parametrize("v,text", [(-1e-12, "0.0%"), (-0.0004, "0.0%"), (1.000000000000004, "100.0%"),
                                    (0.2741, "27.4%"), (None, NA), (float("nan"), NA)])
def test_pct_never_prints_minus_zero_or_noise(v, text):
    assert pct(v) == text


def test_a_real_out_of_range_share_still_shows():
    """Only rounding noise is cleared: a share of 1.5 is a finding (or a bug) and must stay visible."""
    assert share(1.5) == 1.5 and share(-0.2) == -0.2 and pct(1.5) == "150.0%"
    assert share(1 + 5e-7) == 1.0 and share(-5e-7) == 0.0


def test_counts_and_plurals():
    assert count(43_850_043_602.4) == "43,850,043,602" and count(None) == NA
    assert plural(1, "offering") == "1 offering" and plural(2, "offering") == "2 offerings"
    assert plural(1200, "chip") == "1,200 chips" and plural(1, "strategy", "strategies") == "1 strategy"
    assert plural(3, "strategy", "strategies") == "3 strategies"


def test_table_cells_say_na_for_unknown_never_a_dash_or_zero():
    assert num(2)(None) == NA and num(1)(float("nan")) == NA and sig(None) == NA
    assert num(1)(-0.04) == "0.0" and num(1)(-0.06) == "-0.1"


def test_cli_money_and_pct_are_the_shared_formatters():
    assert cli_money(17_654_321) == "$17.7M" and cli_pct(None) == NA and cli_pct(-1e-15) == "0.0%"


def test_json_clears_share_noise_and_keeps_findings():
    doc = jsonable({"served_share": 1.000000000000004, "mw_share": np.float64(-1e-13), "delta": -0.0,
                    "tier": {"worst_protected_share": [0.5, 1.0000001, 2.0]}, "cost_usd": float("nan"),
                    "chips": np.array([1.0, 2.0])})
    assert doc == {"served_share": 1.0, "mw_share": 0.0, "delta": 0.0,
                   "tier": {"worst_protected_share": [0.5, 1.0, 2.0]}, "cost_usd": None, "chips": [1.0, 2.0]}
    assert "-0.0" not in json.dumps(doc)


@given(st.floats(min_value=-1e15, max_value=1e15, allow_nan=False))
def test_money_round_trips_to_three_significant_figures(v):
    """Property: the printed amount is within half a unit in its last digit of the true one."""
    text = money(v)
    if abs(v) < 0.005:
        assert text == "$0"
        return
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("-$").replace(",", "")
    scale = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}.get(body[-1], 1.0)
    shown = sign * float(body.rstrip("KMBT")) * scale
    assert math.isclose(shown, v, rel_tol=5e-3, abs_tol=0.005 + 1e-9)
    assert (sign < 0) == (v < 0)

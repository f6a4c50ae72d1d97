"""Every published calibration point is predicted within its stated tolerance (see calibration.yaml)."""

from __future__ import annotations

import pytest

from polyfleet.perf import check_all, load_calibration

CAL = load_calibration()
POINTS = [(k, p) for k, ps in (("inference", CAL.inference), ("training", CAL.training)) for p in ps]


@pytest.fixture(scope="module")
def checks(ctx):
    return {c.point.id: c for c in check_all(ctx)}


@pytest.mark.parametrize("kind,point", POINTS, ids=[f"{p.id}(+-{p.tolerance:.0%})" for _, p in POINTS])
def test_prediction_within_tolerance(checks, kind, point):
    c = checks[point.id]
    assert abs(c.error) <= point.tolerance, f"{point.id}: predicted {c.predicted:.4g} vs published {point.published}"


def test_every_point_has_a_source():
    for _, p in POINTS:
        assert p.source in CAL.sources, p.id


def test_each_platform_is_calibrated():
    from polyfleet.catalog import load_catalog
    cat = load_catalog()
    platforms = {cat.accelerator(p.accelerator).platform for _, p in POINTS}
    assert platforms == {"cuda", "rocm", "tpu", "neuron"}

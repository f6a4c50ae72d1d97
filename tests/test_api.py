"""`import polyfleet`: a small list of entry points, loaded lazily, none shadowing a subpackage."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import polyfleet


def test_import_polyfleet_loads_no_subpackage():
    """The heavy parts (numpy, HiGHS, pydantic, the catalog) load on first use, not on import."""
    code = ("import sys, polyfleet; "
            "print(sorted(m for m in sys.modules if m.startswith(('polyfleet.', 'numpy', 'highspy'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_all_lists_exactly_the_entry_points():
    assert set(polyfleet.__all__) == {"__version__", *polyfleet._ENTRY_POINTS} and len(polyfleet.__all__) < 32


@pytest.mark.parametrize("name", [n for n in polyfleet.__all__ if n != "__version__"])
def test_every_entry_point_is_the_packages_own_object(name):
    """Each name resolves to the object its package defines (one definition, here only re-exported)."""
    module = importlib.import_module(polyfleet._ENTRY_POINTS[name])
    assert getattr(polyfleet, name) is getattr(module, polyfleet._RENAMED.get(name, name))


def test_entry_points_do_not_shadow_the_packages():
    """`plan` and `place` stay the subpackages, so `import polyfleet.plan` keeps working."""
    assert polyfleet.plan_capacity is importlib.import_module("polyfleet.plan").plan
    assert polyfleet.place_services is importlib.import_module("polyfleet.place").place
    assert polyfleet.plan.__name__ == "polyfleet.plan" and polyfleet.place.__name__ == "polyfleet.place"
    assert set(polyfleet.__all__) <= set(dir(polyfleet))


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'plann'"):
        polyfleet.plann  # noqa: B018

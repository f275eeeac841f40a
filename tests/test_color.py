"""OKLab against Björn Ottosson's published reference values, and palette interpolation."""

from __future__ import annotations

import pytest

from filmc.color import describe, hex_to_rgb, interpolate_palette, mix_oklab, oklab_to_srgb, srgb_to_oklab


@pytest.mark.parametrize(("rgb", "lab"), [
    ((1.0, 1.0, 1.0), (1.0, 0.0, 0.0)),
    ((1.0, 0.0, 0.0), (0.627955, 0.224863, 0.125846)),
    ((0.0, 1.0, 0.0), (0.866440, -0.233888, 0.179498)),
    ((0.0, 0.0, 1.0), (0.452014, -0.032457, -0.311528)),
])
def test_oklab_reference_values(rgb: tuple[float, float, float], lab: tuple[float, float, float]) -> None:
    assert srgb_to_oklab(rgb) == pytest.approx(lab, abs=1e-5)
    assert oklab_to_srgb(lab) == pytest.approx(rgb, abs=1e-4)


def test_mix_endpoints_and_midpoint_is_not_rgb_average() -> None:
    assert mix_oklab("#0B1E3F", "#FFB347", 0.0) == "#0B1E3F"
    assert mix_oklab("#0B1E3F", "#FFB347", 1.0) == "#FFB347"
    mid = hex_to_rgb(mix_oklab("#0000FF", "#FFFF00", 0.5))
    # an RGB average would be (0.5, 0.5, 0.5) grey; OKLab keeps it lighter
    assert sum(mid) / 3 > 0.55


def test_interpolate_palette_clamps_and_pads() -> None:
    stops = [(0.0, ("#000000", "#FFFFFF")), (10.0, ("#FF0000",))]
    assert interpolate_palette(stops, -5) == ("#000000", "#FFFFFF")
    assert interpolate_palette(stops, 20) == ("#FF0000",)
    mid = interpolate_palette(stops, 5)
    assert len(mid) == 2 and mid[0] == mix_oklab("#000000", "#FF0000", 0.5)


def test_describe_in_words() -> None:
    assert describe("#3A7BD5").endswith("blue")
    assert describe("#FFB347").endswith("amber")
    assert describe("#808080") == "mid neutral grey"

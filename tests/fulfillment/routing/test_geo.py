"""Great-circle distances (haversine) between the project's own places."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from ordino.catalog.places import place
from ordino.fulfillment.routing.geo import (
    EARTH_RADIUS_KM,
    MAX_DISTANCE_KM,
    GeoPoint,
    distance_km,
    distances_km,
    haversine_km,
)


def point(code: str) -> GeoPoint:
    p = place(code)
    return GeoPoint.of(p.lat, p.lon)


@pytest.mark.parametrize(
    ("a", "b", "km"),
    [
        # published great-circle distances between the city centres, in whole km
        ("BER", "PAR", 878),
        ("LON", "PAR", 344),
        ("LON", "NYC", 5570),
        ("NYC", "LAX", 3936),
        ("TYO", "OSA", 396),
    ],
)
def test_distances_between_known_cities(a: str, b: str, km: int) -> None:
    # given two cities of catalog.places, when measured, then the distance rounds to the known one
    assert round(distance_km(point(a), point(b))) == km
    # and it is the same both ways
    assert distance_km(point(a), point(b)) == distance_km(point(b), point(a))


def test_berlin_paris_to_the_metre() -> None:
    # given Berlin and Paris at their GeoNames coordinates, then haversine on the mean sphere gives
    assert round(distance_km(point("BER"), point("PAR")), 3) == 878.399


def test_same_point_antipodes_and_poles() -> None:
    assert distance_km(point("BER"), point("BER")) == 0.0
    assert distance_km(GeoPoint(0, 0), GeoPoint(0, 180)) == MAX_DISTANCE_KM
    assert distance_km(GeoPoint(90, 0), GeoPoint(-90, 0)) == MAX_DISTANCE_KM
    # a quarter of a great circle along the equator
    assert haversine_km(0, 0, 0, 90) == pytest.approx(MAX_DISTANCE_KM / 2, rel=1e-15)
    assert round(MAX_DISTANCE_KM, 3) == round(3.141592653589793 * EARTH_RADIUS_KM, 3) == 20015.114


def test_vectorised_distances_equal_the_scalar_ones() -> None:
    # given Berlin and four cities, when measured at once, then each equals the one-by-one distance
    others = [point(c) for c in ("PAR", "HAM", "MUC", "TYO")]
    many = distances_km(point("BER"), np.array([o.latitude for o in others]), np.array([o.longitude for o in others]))
    assert many.tolist() == pytest.approx([distance_km(point("BER"), o) for o in others], rel=1e-12)
    assert [round(v) for v in many] == [878, 255, 505, 8916]


def test_points_take_decimal_and_refuse_impossible_coordinates() -> None:
    assert GeoPoint.of(Decimal("52.52437"), Decimal("13.41053")) == GeoPoint(52.52437, 13.41053)
    assert GeoPoint.of("48.85341", "2.3488").latitude == 48.85341
    with pytest.raises(ValueError, match=r"latitude 91 is not within -90\.\.90"):
        GeoPoint(91, 0)
    with pytest.raises(ValueError, match=r"longitude -180\.5 is not within -180\.\.180"):
        GeoPoint(0, -180.5)
    with pytest.raises(ValueError, match="latitude nan"):
        GeoPoint(float("nan"), 0)

"""Great-circle distances between points on the earth (haversine). Pure, no I/O.

The earth is taken as a sphere with the IUGG mean radius (6,371.0088 km). Against the WGS 84
ellipsoid this errs by at most about 0.5 %, which is far below what separates two candidate
locations in routing, and it is what carriers' "as the crow flies" zone tables use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius R1
MAX_DISTANCE_KM = math.pi * EARTH_RADIUS_KM  # half a great circle: the farthest two points can be


@dataclass(frozen=True, slots=True)
class GeoPoint:
    """A point in decimal degrees (WGS 84), north and east positive."""

    latitude: float
    longitude: float

    def __post_init__(self) -> None:
        lat, lon = float(self.latitude), float(self.longitude)
        if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
            raise ValueError(f"latitude {self.latitude} is not within -90..90")
        if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
            raise ValueError(f"longitude {self.longitude} is not within -180..180")
        object.__setattr__(self, "latitude", lat)
        object.__setattr__(self, "longitude", lon)

    @classmethod
    def of(cls, latitude: Decimal | float | str, longitude: Decimal | float | str) -> GeoPoint:
        """A point from the Decimal (or string) coordinates that locations and places store."""
        return cls(float(latitude), float(longitude))


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance in km between two points given in decimal degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2.0 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def distance_km(a: GeoPoint, b: GeoPoint) -> float:
    """The great-circle distance in km between two points."""
    return haversine_km(a.latitude, a.longitude, b.latitude, b.longitude)


def distances_km(origin: GeoPoint, latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
    """Distances in km from one point to many (vectorised; the arrays hold decimal degrees)."""
    p1 = math.radians(origin.latitude)
    p2 = np.radians(np.asarray(latitudes, dtype=np.float64))
    dl = np.radians(np.asarray(longitudes, dtype=np.float64) - origin.longitude)
    h = np.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    result: np.ndarray = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return result

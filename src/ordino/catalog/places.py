"""Cities where B2B warehouses, stores and customers plausibly are: the project's own table.

Each place has a country (ISO 3166-1 alpha-2), a region (ISO 3166-2 subdivision code), one real
postal code in that city, the city's latitude and longitude in decimal degrees (WGS 84, as
Decimal strings) and its IANA time zone.

Source: GeoNames (https://www.geonames.org, CC BY 4.0): the coordinates are those of the GeoNames
populated place of each city, rounded to at most five decimals; the postal codes are taken from the
GeoNames postal-code dumps (US ZIP codes) and the OS / ONS open outcode list (UK). The test
`tests/catalog/test_places.py` checks the US and UK entries against copies of those datasets in
`../shared/data/geo`: each city's coordinates lie within 0.2 degrees of its postal code's centroid.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Place:
    code: str  # a short code of our own (IATA-like), unique in this table
    city: str
    country: str  # ISO 3166-1 alpha-2
    region: str  # ISO 3166-2 subdivision
    postal_code: str
    latitude: str  # decimal degrees, north positive
    longitude: str  # decimal degrees, east positive
    timezone: str  # IANA tz database name

    @property
    def lat(self) -> Decimal:
        return Decimal(self.latitude)

    @property
    def lon(self) -> Decimal:
        return Decimal(self.longitude)

    @property
    def subdivision(self) -> str:
        """The region without its country prefix, as written in postal addresses ('IL', 'BY')."""
        return self.region.split("-", 1)[1]


PLACES: tuple[Place, ...] = (
    # Germany
    Place("BER", "Berlin", "DE", "DE-BE", "10115", "52.52437", "13.41053", "Europe/Berlin"),
    Place("HAM", "Hamburg", "DE", "DE-HH", "20457", "53.55073", "9.99302", "Europe/Berlin"),
    Place("MUC", "Munich", "DE", "DE-BY", "80331", "48.13743", "11.57549", "Europe/Berlin"),
    Place("FRA", "Frankfurt am Main", "DE", "DE-HE", "60311", "50.11552", "8.68417", "Europe/Berlin"),
    Place("CGN", "Cologne", "DE", "DE-NW", "50667", "50.93333", "6.95", "Europe/Berlin"),
    Place("DUI", "Duisburg", "DE", "DE-NW", "47229", "51.43247", "6.76516", "Europe/Berlin"),
    # France
    Place("PAR", "Paris", "FR", "FR-IDF", "75001", "48.85341", "2.3488", "Europe/Paris"),
    Place("LYS", "Lyon", "FR", "FR-ARA", "69007", "45.74846", "4.84671", "Europe/Paris"),
    # Netherlands
    Place("AMS", "Amsterdam", "NL", "NL-NH", "1012 AB", "52.37403", "4.88969", "Europe/Amsterdam"),
    Place("RTM", "Rotterdam", "NL", "NL-ZH", "3011 AD", "51.9225", "4.47917", "Europe/Amsterdam"),
    Place("VNL", "Venlo", "NL", "NL-LI", "5928 LX", "51.37", "6.16806", "Europe/Amsterdam"),
    # Rest of Europe
    Place("MIL", "Milan", "IT", "IT-25", "20121", "45.46427", "9.18951", "Europe/Rome"),
    Place("MAD", "Madrid", "ES", "ES-MD", "28013", "40.4165", "-3.70256", "Europe/Madrid"),
    Place("WAW", "Warsaw", "PL", "PL-14", "02-001", "52.22977", "21.01178", "Europe/Warsaw"),
    Place("VIE", "Vienna", "AT", "AT-9", "1010", "48.20849", "16.37208", "Europe/Vienna"),
    Place("ZRH", "Zurich", "CH", "CH-ZH", "8001", "47.36667", "8.55", "Europe/Zurich"),
    Place("STO", "Stockholm", "SE", "SE-AB", "111 20", "59.32938", "18.06871", "Europe/Stockholm"),
    # United Kingdom
    Place("LON", "London", "GB", "GB-ENG", "EC1A 1BB", "51.50853", "-0.12574", "Europe/London"),
    Place("MAN", "Manchester", "GB", "GB-ENG", "M1 1AE", "53.48095", "-2.23743", "Europe/London"),
    Place("BHX", "Birmingham", "GB", "GB-ENG", "B1 1BB", "52.48142", "-1.89983", "Europe/London"),
    # United States
    Place("NYC", "New York", "US", "US-NY", "10001", "40.71427", "-74.00597", "America/New_York"),
    Place("CHI", "Chicago", "US", "US-IL", "60607", "41.85003", "-87.65005", "America/Chicago"),
    Place("DAL", "Dallas", "US", "US-TX", "75247", "32.78306", "-96.80667", "America/Chicago"),
    Place("LAX", "Los Angeles", "US", "US-CA", "90058", "34.05223", "-118.24368", "America/Los_Angeles"),
    Place("ATL", "Atlanta", "US", "US-GA", "30318", "33.749", "-84.38798", "America/New_York"),
    Place("MEM", "Memphis", "US", "US-TN", "38118", "35.14953", "-90.04898", "America/Chicago"),
    # Japan
    Place("TYO", "Tokyo", "JP", "JP-13", "100-0005", "35.6895", "139.69171", "Asia/Tokyo"),
    Place("OSA", "Osaka", "JP", "JP-27", "530-0001", "34.69374", "135.50218", "Asia/Tokyo"),
)

_BY_CODE = {p.code: p for p in PLACES}


def place(code: str) -> Place:
    """The place with this code; KeyError names it when it is unknown."""
    try:
        return _BY_CODE[code]
    except KeyError:
        raise KeyError(f"no place '{code}'") from None

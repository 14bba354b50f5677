"""Units of measure: the codes of UN/ECE Recommendation 20 and of Recommendation 21 (X-prefixed).

`data/unit_codes.csv` lists the codes EN 16931 accepts for an invoiced quantity (BT-130, rule
BR-CL-23): UN/ECE Recommendation 20 rev. 17 (units of measure) and Recommendation 21 (packages,
with the prefix X: a box is `XBX`, a roll `XRL`), as published in the CEN/TC 434 code lists.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

DEFAULT_UNIT = "C62"  # "one": a unit of count, for a code that has no Recommendation 20/21 meaning


@cache
def unit_codes() -> frozenset[str]:
    with resources.files("ordino.catalog").joinpath("data/unit_codes.csv").open(encoding="utf-8") as f:
        return frozenset(row["code"] for row in csv.DictReader(f))


def is_unit_code(code: str) -> bool:
    return code in unit_codes()


def unit_code_error(code: str) -> str | None:
    """Why `code` is not a unit code, with the code meant when a package code lacks its X; or None."""
    if is_unit_code(code):
        return None
    if is_unit_code("X" + code):
        return f"'{code}' is a UN/ECE Recommendation 21 package code: write it 'X{code}'"
    return f"'{code}' is not a UN/ECE Recommendation 20 or 21 unit code (e.g. H87 piece, C62 one, KGM, XBX box)"


def valid_unit(code: str) -> str:
    """The valid code for a stored one: itself, its X-prefixed package code, else C62."""
    if is_unit_code(code):
        return code
    if is_unit_code("X" + code):
        return "X" + code
    return DEFAULT_UNIT

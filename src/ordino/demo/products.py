"""The demo catalog: industrial supplies generated from real product families.

Fasteners follow their DIN / ISO standards (sizes, lengths, head dimensions) and are sold in the
box quantities distributors use; weights are computed from the geometry and steel's density, and
list prices (EUR, net) follow weight and material the way distributor price lists do. Everything
is exact Decimal arithmetic; the catalog is the same on every call.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

STEEL_G_PER_MM3 = Decimal("0.00785")
PI_4 = Decimal("0.7854")  # π / 4
HEX_AREA = Decimal("0.866")  # area of a hexagon per (width across flats)²


@dataclass(frozen=True, slots=True)
class ProductSpec:
    sku: str
    name: str
    family: str
    unit: str  # UN/ECE Rec. 20/21 code: EA each, PR pair, XBX box, XRL roll
    minimum: int
    multiple: int
    tax_class: str  # standard | reduced
    weight_kg: Decimal
    price_eur: Decimal  # list price per unit, net
    description: str


def _kg(grams: Decimal) -> Decimal:
    return (grams / 1000).quantize(Decimal("0.0001"), ROUND_HALF_UP).max(Decimal("0.0001"))


def _price(value: Decimal) -> Decimal:
    places = Decimal("0.0001") if value < 1 else Decimal("0.01")
    return value.quantize(places, ROUND_HALF_UP)


def _size(d: int) -> str:
    return f"M{d}"


# ISO 4017 / DIN 933 hex head: width across flats s, head height k; lengths stocked per size.
HEX_HEAD = {3: ("5.5", "2"), 4: ("7", "2.8"), 5: ("8", "3.5"), 6: ("10", "4"), 8: ("13", "5.3"),
            10: ("16", "6.4"), 12: ("18", "7.5"), 16: ("24", "10"), 20: ("30", "12.5")}
HEX_LENGTHS = {
    3: (10, 16, 20), 4: (10, 16, 20, 25), 5: (12, 16, 20, 25, 30), 6: (16, 20, 25, 30, 40, 50),
    8: (16, 20, 25, 30, 40, 50, 60, 80), 10: (20, 25, 30, 40, 50, 60, 80, 100),
    12: (30, 40, 50, 60, 80, 100, 120), 16: (40, 50, 60, 80, 100, 120), 20: (50, 60, 80, 100, 120, 150),
}
# DIN 125-1 A washers: hole, outer diameter, thickness (mm)
WASHER = {3: ("3.2", 7, "0.5"), 4: ("4.3", 9, "0.8"), 5: ("5.3", 10, "1"), 6: ("6.4", 12, "1.6"),
          8: ("8.4", 16, "1.6"), 10: ("10.5", 20, "2"), 12: ("13", 24, "2.5"), 16: ("17", 30, "3"),
          20: ("21", 37, "3")}
# ISO 4762 / DIN 912 socket head cap screws, lengths stocked per size
SOCKET_LENGTHS = {3: (8, 10, 12, 16), 4: (10, 12, 16, 20), 5: (10, 16, 20, 25), 6: (12, 16, 20, 25, 30),
                  8: (16, 20, 25, 30, 40), 10: (20, 25, 30, 40, 50), 12: (30, 40, 50, 60)}
MATERIALS = (("ZN", "steel 8.8, zinc plated", Decimal(1)), ("A2", "stainless steel A2-70", Decimal("3.2")))


def _box(d: int) -> int:
    """Fasteners come in boxes of 100 up to M8, 50 for M10–M12, 25 above."""
    return 100 if d <= 8 else 50 if d <= 12 else 25


def _hex_bolts() -> list[ProductSpec]:
    out = []
    for d, lengths in HEX_LENGTHS.items():
        s, k = (Decimal(v) for v in HEX_HEAD[d])
        for length in lengths:
            grams = STEEL_G_PER_MM3 * (PI_4 * d * d * length + HEX_AREA * s * s * k)
            for code, material, factor in MATERIALS:
                out.append(ProductSpec(
                    f"D933-M{d}X{length}-{code}", f"Hex head bolt DIN 933 M{d}×{length}, {material}",
                    "hex_bolts", "EA", _box(d), _box(d), "standard", _kg(grams),
                    _price((Decimal("0.012") + Decimal("0.0025") * grams) * factor),
                    f"ISO 4017, fully threaded, M{d} coarse thread, length {length} mm, box of {_box(d)}.",
                ))
    return out


def _nuts_and_washers() -> list[ProductSpec]:
    out = []
    for d, (s, _k) in HEX_HEAD.items():
        sd = Decimal(s)
        grams_nut = STEEL_G_PER_MM3 * (HEX_AREA * sd * sd - PI_4 * d * d) * Decimal("0.8") * d
        hole, od, t = WASHER[d]
        grams_washer = STEEL_G_PER_MM3 * PI_4 * (od * od - Decimal(hole) ** 2) * Decimal(t)
        for code, material, factor in MATERIALS:
            box = _box(d)
            out.append(ProductSpec(
                f"D934-M{d}-{code}", f"Hex nut DIN 934 M{d}, {material}", "hex_nuts", "EA", box, box,
                "standard", _kg(grams_nut), _price((Decimal("0.006") + Decimal("0.003") * grams_nut) * factor),
                f"ISO 4032, property class 8 / A2-70, M{d}, box of {box}.",
            ))
            box = box * 2 if d <= 8 else box
            steel = "steel, zinc plated" if code == "ZN" else "stainless steel A2"
            out.append(ProductSpec(
                f"D125-M{d}-{code}", f"Flat washer DIN 125-A {hole} (M{d}), {steel}", "washers", "EA",
                box, box, "standard", _kg(grams_washer),
                _price((Decimal("0.003") + Decimal("0.004") * grams_washer) * factor),
                f"ISO 7089, {od} mm outer diameter, {t} mm thick, box of {box}.",
            ))
    return out


def _socket_screws() -> list[ProductSpec]:
    out = []
    for d, lengths in SOCKET_LENGTHS.items():
        for length in lengths:
            grams = STEEL_G_PER_MM3 * PI_4 * d * d * (length + Decimal("2.25") * d)
            out.append(ProductSpec(
                f"D912-M{d}X{length}-129", f"Socket head cap screw DIN 912 M{d}×{length}, 12.9 black",
                "socket_screws", "EA", _box(d), _box(d), "standard", _kg(grams),
                _price(Decimal("0.02") + Decimal("0.004") * grams),
                f"ISO 4762, hexagon socket, property class 12.9, oiled black finish, box of {_box(d)}.",
            ))
    return out


def _chipboard_screws() -> list[ProductSpec]:
    sizes = {"3.5": (20, 30, 40), "4.0": (30, 40, 50), "4.5": (40, 50, 60), "5.0": (50, 70, 80),
             "6.0": (80, 100, 120)}
    out = []
    for d, lengths in sizes.items():
        drive = {"3.5": 15, "4.0": 20, "4.5": 20, "5.0": 25, "6.0": 30}[d]
        for length in lengths:
            grams = STEEL_G_PER_MM3 * PI_4 * Decimal(d) ** 2 * Decimal("0.8") * length
            box = 200 if Decimal(d) < 5 else 100
            out.append(ProductSpec(
                f"CS-{d}X{length}-TX{drive}", f"Chipboard screw {d}×{length}, countersunk, Torx T{drive}",
                "chipboard_screws", "EA", box, box, "standard", _kg(grams),
                _price(Decimal("0.004") + Decimal("0.006") * grams),
                f"Partial thread, yellow zinc plated, box of {box}.",
            ))
    return out


def _cable_ties() -> list[ProductSpec]:
    sizes = [("2.5", 100), ("2.5", 160), ("3.6", 140), ("3.6", 200), ("3.6", 300), ("4.8", 200),
             ("4.8", 300), ("4.8", 400), ("7.6", 450)]
    out = []
    for width, length in sizes:
        grams = Decimal(width) * length * Decimal("1.1") * Decimal("0.00114")  # PA 6.6: 1.14 g/cm³
        for code, colour in (("NAT", "natural"), ("BLK", "black, UV resistant")):
            out.append(ProductSpec(
                f"CT-{width}X{length}-{code}", f"Cable tie {width}×{length} mm, PA 6.6, {colour}",
                "cable_ties", "EA", 100, 100, "standard", _kg(grams),
                _price((Decimal("0.004") + Decimal("0.012") * grams) * (Decimal("1.15") if code == "BLK" else 1)),
                "Polyamide 6.6, UL 94 V-2, bag of 100.",
            ))
    return out


def _gloves() -> list[ProductSpec]:
    kinds = [
        ("NIT", "Assembly gloves, nitrile foam coated, EN 388 4131X", range(7, 12), "1.35", "0.035"),
        ("CUTC", "Cut-resistant gloves, PU coated, EN 388 4X42C", range(7, 12), "3.90", "0.045"),
        ("RIG", "Rigger gloves, cowhide leather, EN 388 2122X", range(8, 12), "2.80", "0.110"),
    ]
    out = []
    for code, name, sizes, price, kg in kinds:
        for size in sizes:
            out.append(ProductSpec(
                f"GLV-{code}-{size}", f"{name}, size {size}", "safety_gloves", "PR", 12, 12, "standard",
                Decimal(kg), Decimal(price), "Sold in packs of 12 pairs; EN ISO 21420.",
            ))
    for letter in ("S", "M", "L", "XL"):
        out.append(ProductSpec(
            f"GLV-DISP-{letter}", f"Disposable nitrile gloves, powder-free, box of 100, size {letter}",
            "safety_gloves", "XBX", 10, 10, "standard", Decimal("0.62"), Decimal("6.50"),
            "EN ISO 374-1 type B, EN 455, 10 boxes per carton.",
        ))
    return out


def _drill_bits() -> list[ProductSpec]:
    out = []
    for tenths in range(10, 135, 5):
        d = Decimal(tenths) / 10
        label = f"{d:.1f}"
        pack = 10 if d <= 5 else 5
        grams = STEEL_G_PER_MM3 * PI_4 * d * d * (Decimal(30) + 9 * d) * Decimal("0.85")
        out.append(ProductSpec(
            f"DRL-HSSG-{label}", f"Twist drill bit HSS-G DIN 338 {label} mm", "drill_bits", "EA", pack, pack,
            "standard", _kg(grams), _price(Decimal("0.35") + Decimal("0.032") * d * d),
            f"Ground, type N, 118° split point, pack of {pack}.",
        ))
        if tenths in (30, 40, 50, 60, 80, 100, 120):
            out.append(ProductSpec(
                f"DRL-HSSCO-{label}", f"Twist drill bit HSS-Co5 DIN 338 {label} mm", "drill_bits", "EA",
                pack, pack, "standard", _kg(grams),
                _price((Decimal("0.35") + Decimal("0.032") * d * d) * Decimal("2.2")),
                f"5 % cobalt, for stainless steel, 135° split point, pack of {pack}.",
            ))
    return out


def _anchors() -> list[ProductSpec]:
    out = []
    for d, price, plug_g in ((5, "0.018", "0.4"), (6, "0.022", "0.6"), (8, "0.038", "1.3"),
                             (10, "0.065", "2.4"), (12, "0.11", "4.0"), (14, "0.16", "6.1")):
        out.append(ProductSpec(
            f"ANC-NYL-{d}", f"Nylon wall plug {d} mm", "anchors", "EA", 100, 100, "standard",
            _kg(Decimal(plug_g)), Decimal(price), "Expansion plug for concrete and solid brick, box of 100.",
        ))
    for d, length, price in ((8, 75, "0.26"), (8, 95, "0.31"), (10, 90, "0.44"), (10, 115, "0.52"),
                             (12, 100, "0.71"), (12, 125, "0.84"), (16, 140, "1.79")):
        grams = STEEL_G_PER_MM3 * PI_4 * d * d * length * Decimal("1.1")
        box = 50 if d <= 12 else 25
        out.append(ProductSpec(
            f"ANC-WDG-M{d}X{length}", f"Wedge anchor M{d}×{length}, zinc plated, ETA option 7", "anchors",
            "EA", box, box, "standard", _kg(grams), Decimal(price), f"For cracked concrete, box of {box}.",
        ))
    out.append(ProductSpec(
        "ANC-RESIN-300", "Injection mortar vinyl ester, 300 ml cartridge", "anchors", "EA", 12, 12,
        "standard", Decimal("0.52"), Decimal("12.90"), "Styrene-free chemical anchor, 12 per carton.",
    ))
    return out


def _consumables() -> list[ProductSpec]:
    rows = [
        ("ADH-TL243-50", "Threadlocker, medium strength, blue, 50 ml", "adhesives", "EA", 1, 1, "0.07", "14.50"),
        ("ADH-TL270-50", "Threadlocker, high strength, green, 50 ml", "adhesives", "EA", 1, 1, "0.07", "16.90"),
        ("ADH-CA-20", "Instant adhesive, cyanoacrylate, 20 g", "adhesives", "EA", 1, 1, "0.03", "6.40"),
        ("ADH-EPX-50", "Two-component epoxy adhesive, 50 ml double syringe", "adhesives", "EA", 1, 1,
         "0.09", "11.80"),
        ("ADH-PU-310", "Polyurethane construction adhesive, 310 ml cartridge", "adhesives", "EA", 12, 12,
         "0.42", "7.20"),
        ("ADH-MS-290-WHT", "MS polymer sealant, white, 290 ml cartridge", "adhesives", "EA", 12, 12, "0.47",
         "8.90"),
        ("ADH-MS-290-GRY", "MS polymer sealant, grey, 290 ml cartridge", "adhesives", "EA", 12, 12, "0.47",
         "8.90"),
        ("ADH-MS-290-BLK", "MS polymer sealant, black, 290 ml cartridge", "adhesives", "EA", 12, 12, "0.47",
         "8.90"),
        ("PAP-A4-80-BX", "Copy paper A4 80 g/m², box of 5 reams (2,500 sheets)", "paper", "XBX", 1, 1, "12.5",
         "23.50"),
        ("PAP-A4-80-PAL", "Copy paper A4 80 g/m², pallet of 48 boxes (240 reams)", "paper", "XPX", 1, 1, "610",
         "1049.00"),
        ("PAP-A3-80-BX", "Copy paper A3 80 g/m², box of 5 reams", "paper", "XBX", 1, 1, "25", "47.00"),
        ("PAP-A4-100-BX", "Colour laser paper A4 100 g/m², box of 5 reams", "paper", "XBX", 1, 1, "15.6",
         "34.00"),
        ("PAP-A4-80R-BX", "Recycled copy paper A4 80 g/m², Blue Angel, box of 5 reams", "paper", "XBX", 1, 1,
         "12.5", "21.00"),
        ("PAP-A4-80R-PAL", "Recycled copy paper A4 80 g/m², pallet of 48 boxes", "paper", "XPX", 1, 1, "610",
         "938.00"),
        ("PKG-TAPE-50-BRN", "Packing tape PP 50 mm × 66 m, brown", "packaging", "XRL", 36, 36, "0.2", "1.25"),
        ("PKG-TAPE-50-CLR", "Packing tape PP 50 mm × 66 m, clear", "packaging", "XRL", 36, 36, "0.2", "1.25"),
        ("PKG-TAPE-50-LN", "Packing tape PP 50 mm × 66 m, low noise, brown", "packaging", "XRL", 36, 36, "0.2",
         "1.69"),
        ("PKG-FILM-500", "Stretch film 500 mm × 300 m, 23 µm, cast", "packaging", "XRL", 6, 6, "2.6", "11.90"),
        ("PKG-BOX-305", "Folding box single wall 305×215×110 mm", "packaging", "EA", 25, 25, "0.14", "0.55"),
        ("PKG-BOX-400", "Folding box single wall 400×300×200 mm", "packaging", "EA", 25, 25, "0.29", "0.98"),
        ("PKG-BOX-600", "Folding box double wall 600×400×400 mm", "packaging", "EA", 25, 25, "0.78", "2.10"),
        ("PAL-EPAL-NEW", "EPAL Euro pallet 1200×800 mm, new", "pallets", "EA", 10, 5, "25", "14.50"),
        ("PAL-EPAL-A", "EPAL Euro pallet 1200×800 mm, used, class A", "pallets", "EA", 10, 5, "25", "9.80"),
        ("BOOK-FAST-6", "Fastener Technology Handbook, 6th edition (print)", "books", "EA", 1, 1, "0.95",
         "68.00"),
        ("BOOK-TAB-48", "Metalworking Reference Tables, 48th edition (print)", "books", "EA", 1, 1, "0.62",
         "36.90"),
        ("BOOK-WELD-3", "Welding Pocket Guide, 3rd edition (print)", "books", "EA", 1, 1, "0.28", "24.00"),
        ("BOOK-SAFE-2", "Workplace Safety Manual, 2nd edition (print)", "books", "EA", 1, 1, "0.41", "29.90"),
    ]
    out = [
        ProductSpec(sku, name, family, unit, minimum, multiple,
                    "reduced" if family == "books" else "standard", Decimal(kg), Decimal(price),
                    f"Sold per {unit}; minimum {minimum}, in multiples of {multiple}.")
        for sku, name, family, unit, minimum, multiple, kg, price in rows
    ]
    for size, per_roll, price in (("100X150", 500, "6.90"), ("100X50", 1000, "5.80"),
                                  ("57X32", 2000, "4.20"), ("102X76", 1000, "7.40")):
        for code, kind, extra in (("DT", "direct thermal", Decimal(0)), ("TT", "thermal transfer", Decimal("1.10"))):
            out.append(ProductSpec(
                f"LBL-{code}-{size}", f"Labels {size.replace('X', '×')} mm, {kind}, {per_roll} per roll",
                "labels", "XRL", 4, 4, "standard", Decimal("0.45"), Decimal(price) + extra,
                "76 mm core, permanent adhesive, cartons of 4 rolls.",
            ))
    return out


# The product that the order example of the README and the API docs refers to.
BOLT_M8 = ProductSpec(
    "BOLT-M8", "Hex bolt M8×40, steel 8.8, zinc plated", "hex_bolts", "EA", 100, 100, "standard",
    Decimal("0.0180"), Decimal("0.0350"), "ISO 4017, fully threaded, M8 coarse thread, length 40 mm, box of 100.",
)


@cache
def catalog() -> tuple[ProductSpec, ...]:
    """Every demo product, in a fixed order."""
    return (
        BOLT_M8,
        *_hex_bolts(), *_nuts_and_washers(), *_socket_screws(), *_chipboard_screws(), *_cable_ties(),
        *_gloves(), *_drill_bits(), *_anchors(), *_consumables(),
    )


def families() -> dict[str, list[ProductSpec]]:
    out: dict[str, list[ProductSpec]] = {}
    for spec in catalog():
        out.setdefault(spec.family, []).append(spec)
    return out

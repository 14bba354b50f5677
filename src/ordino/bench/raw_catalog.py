"""Ordino's intake transaction with "pricing": "catalog", written out by hand.

The same reads and writes as `POST /api/v1/orders` for a catalog-priced, engine-taxed order
(tests/bench/test_raw_fidelity.py compares the statements): the references, the account chain,
the price books, their entries and tiers, the promotions and their limits, the seller and the
buyer's tax profile; then the order's rows with its promotion adjustments and tax lines.

The arithmetic is the part of Ordino's rules the benchmark's seed uses, written plainly: the
first book (contract books assigned to the account's chain, nearest first, then the standard list
book) with an entry prices a line, at its highest tier reached; line-level percentage promotions
cut each line, rounded half up; domestic German VAT is 19 % of the document's net, rounded once
and allocated to the lines by largest remainder (EN 16931). Anything else in the data is refused,
so the baseline never silently computes less than Ordino does.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from ordino.bench.raw_sql import Cursor, Dialect, Written, charge_row, read_refs, write_order
from ordino.bench.workload import ORDERED_AT, SHIP_TO, SHIPPING_CHARGE, OrderSpec
from ordino.kernel.ids import new_id

MAX_HIERARCHY_DEPTH = 32
# The seller's country and the ship-to are both Germany, the buyer a business: domestic VAT.
VAT_COUNTRY, VAT_RATE, VAT_NAME = "DE", Decimal("0.19"), "VAT 19%"
_CENT = Decimal("0.01")

SELECT_CHAIN = (
    "WITH RECURSIVE account_chain(id, parent_id, depth) AS"
    " (SELECT account.id AS id, account.parent_id AS parent_id, ? AS depth FROM account WHERE account.id = ?"
    " UNION ALL SELECT parent.id AS id, parent.parent_id AS parent_id, account_chain.depth + ? AS anon_1"
    " FROM account AS parent, account_chain"
    " WHERE parent.id = account_chain.parent_id AND account_chain.depth < ?)"
    " SELECT account_chain.id FROM account_chain ORDER BY account_chain.depth"
)
SELECT_BOOKS = (
    "SELECT price_book.id, price_book.code, price_book.valid_from, price_book.is_standard,"
    " price_book_account.account_id FROM price_book LEFT OUTER JOIN price_book_account"
    " ON price_book_account.price_book_id = price_book.id AND price_book_account.account_id IN ({chain})"
    " WHERE price_book.currency = ? AND price_book.active IS {true}"
    " AND (price_book.valid_from IS NULL OR price_book.valid_from <= ?)"
    " AND (price_book.valid_to IS NULL OR price_book.valid_to > ?)"
    " AND (price_book.is_standard IS {true} OR price_book_account.account_id IS NOT NULL)"
)
SELECT_ENTRIES = (
    "SELECT price_book_entry.id, price_book_entry.price_book_id, price_book_entry.sku, price_book_entry.unit_price,"
    " price_book_entry.valid_from, price_book_entry.valid_to, price_book_tier.from_quantity,"
    " price_book_tier.unit_price AS unit_price_1"
    " FROM price_book_entry LEFT OUTER JOIN price_book_tier ON price_book_tier.entry_id = price_book_entry.id"
    " WHERE price_book_entry.price_book_id IN ({books}) AND price_book_entry.sku IN ({skus})"
    " AND (price_book_entry.valid_from IS NULL OR price_book_entry.valid_from <= ?)"
    " AND (price_book_entry.valid_to IS NULL OR price_book_entry.valid_to > ?)"
    " ORDER BY price_book_entry.id, price_book_tier.from_quantity"
)
SELECT_PROMOTIONS = (
    "SELECT promotion.code, promotion.name, promotion.description, promotion.level, promotion.kind,"
    " promotion.percentage, promotion.amount, promotion.currency, promotion.min_subtotal, promotion.buy_quantity,"
    " promotion.get_quantity, promotion.get_sku, promotion.priority, promotion.stackable,"
    " promotion.requires_coupon, promotion.valid_from, promotion.valid_to, promotion.active, promotion.version,"
    " promotion.created_at, promotion.updated_at, promotion.id FROM promotion"
    " WHERE promotion.requires_coupon IS {false} AND promotion.active IS {true}"
    " AND (promotion.valid_from IS NULL OR promotion.valid_from <= ?)"
    " AND (promotion.valid_to IS NULL OR promotion.valid_to > ?)"
    " AND (promotion.currency IS NULL OR promotion.currency = ?)"
)
SELECT_PROMOTION_ACCOUNTS = (
    "SELECT promotion_account.promotion_id, promotion_account.account_id FROM promotion_account"
    " WHERE promotion_account.promotion_id IN ({ids})"
)
SELECT_PROMOTION_CHANNELS = (
    "SELECT promotion_channel.promotion_id, sales_channel.code FROM promotion_channel"
    " JOIN sales_channel ON sales_channel.id = promotion_channel.channel_id"
    " WHERE promotion_channel.promotion_id IN ({ids})"
)
SELECT_PROMOTION_SKUS = (
    "SELECT promotion_sku.promotion_id, promotion_sku.sku FROM promotion_sku"
    " WHERE promotion_sku.promotion_id IN ({ids})"
)
SELECT_SELLER = (
    "SELECT legal_entity.code, legal_entity.name, legal_entity.line1, legal_entity.line2, legal_entity.city,"
    " legal_entity.postal_code, legal_entity.region, legal_entity.country, legal_entity.vat_id,"
    " legal_entity.registration_number, legal_entity.email, legal_entity.phone, legal_entity.iban,"
    " legal_entity.bic, legal_entity.bank_name, legal_entity.endpoint_scheme, legal_entity.endpoint_id,"
    " legal_entity.contact_name, legal_entity.tax_number, legal_entity.register_court,"
    " legal_entity.managing_directors, legal_entity.share_capital, legal_entity.sepa_creditor_id,"
    " legal_entity.logo_media_type, legal_entity.us_nexus_states, legal_entity.invalid_vat_id,"
    " legal_entity.is_default, legal_entity.active, legal_entity.version, legal_entity.created_at,"
    " legal_entity.updated_at, legal_entity.id FROM legal_entity"
    " WHERE legal_entity.active IS {true} AND (legal_entity.code = (SELECT sales_channel.legal_entity"
    " FROM sales_channel WHERE sales_channel.code = ?) OR legal_entity.is_default IS {true})"
)
SELECT_TAX_ID = "SELECT account.tax_id FROM account WHERE account.id = ?"
SELECT_TAX_PROFILE = (
    "SELECT account_tax_profile.business FROM account_tax_profile WHERE account_tax_profile.account_id = ?"
)
SELECT_CERTIFICATES = (
    "SELECT tax_exemption_certificate.account_id, tax_exemption_certificate.number,"
    " tax_exemption_certificate.regions, tax_exemption_certificate.reason, tax_exemption_certificate.issued_on,"
    " tax_exemption_certificate.expires_on, tax_exemption_certificate.created_at, tax_exemption_certificate.id"
    " FROM tax_exemption_certificate WHERE tax_exemption_certificate.account_id = ?"
    " ORDER BY tax_exemption_certificate.number"
)


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _half_up(value: Fraction) -> int:
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)


def _largest_remainder(total: int, weights: list[int]) -> list[int]:
    """`total` split in proportion to `weights`; the units left go to the largest remainders."""
    whole = sum(weights)
    exact = [Fraction(total * w, whole) for w in weights]
    parts = [e.numerator // e.denominator for e in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _prices(cur: Cursor, d: Dialect, account_id: Any, skus: list[str], at: Any) -> dict[str, list[Any]]:
    """The entries of the books that may price the order, in resolution order: by SKU, a list of
    (unit price, [(from quantity, unit price), …]) of the first book that has one."""
    cur.execute(d.sql(SELECT_CHAIN), (0, account_id, 1, MAX_HIERARCHY_DEPTH))
    chain = [row[0] for row in cur.fetchall()]
    depth = {a: i for i, a in enumerate(chain)}
    cur.execute(d.sql(SELECT_BOOKS.format(chain=_marks(len(chain)), true=d.true)), (*chain, "EUR", at, at))
    books = cur.fetchall()
    if any(row[2] is not None for row in books):
        raise RuntimeError("the benchmark's books are dated; the raw SQL does not order dated books")
    contracts = sorted({(depth[row[4]], row[0]) for row in books if row[4] is not None})
    ordered = [book_id for _, book_id in contracts] + [row[0] for row in books if row[4] is None][:1]
    cur.execute(d.sql(SELECT_ENTRIES.format(books=_marks(len(ordered)), skus=_marks(len(skus)))),
                (*ordered, *skus, at, at))
    entries: dict[tuple[Any, str], list[Any]] = {}
    for _id, book_id, sku, price, valid_from, valid_to, from_quantity, tier_price in cur.fetchall():
        if valid_from is not None or valid_to is not None:
            raise RuntimeError("the benchmark's entries are dated; the raw SQL does not pick among dated entries")
        entry = entries.setdefault((book_id, sku), [d.decimal(price), []])
        if from_quantity is not None:
            entry[1].append((from_quantity, d.decimal(tier_price)))
    found: dict[str, list[Any]] = {}
    for sku in skus:
        found[sku] = next(entries[(b, sku)] for b in ordered if (b, sku) in entries)
    return found


def _promotions(cur: Cursor, d: Dialect, chain_account: Any, channel: str, at: Any) -> list[tuple[Any, ...]]:
    """The automatic promotions for the account and channel: (code, name, percentage, SKUs)."""
    cur.execute(d.sql(SELECT_PROMOTIONS.format(true=d.true, false=d.false)), (at, at, "EUR"))
    promos = {row[-1]: row for row in cur.fetchall()}
    if not promos:
        return []
    ids = list(promos)
    limits: list[dict[Any, set[Any]]] = []
    for stmt in (SELECT_PROMOTION_ACCOUNTS, SELECT_PROMOTION_CHANNELS, SELECT_PROMOTION_SKUS):
        cur.execute(d.sql(stmt.format(ids=_marks(len(ids)))), ids)
        by_promotion: dict[Any, set[Any]] = {}
        for pid, value in cur.fetchall():
            by_promotion.setdefault(pid, set()).add(value)
        limits.append(by_promotion)
    accounts, channels, skus = limits
    chosen = []
    for pid, p in sorted(promos.items(), key=lambda kv: (-kv[1][12], kv[1][0])):
        if (accounts.get(pid) and chain_account not in accounts[pid]) or (
            channels.get(pid) and channel not in channels[pid]
        ):
            continue
        if (p[3], p[4]) != ("line", "percentage") or p[8] is not None:
            raise RuntimeError(f"promotion {p[0]} is not a line percentage; the raw SQL applies only those")
        chosen.append((p[0], p[1], d.decimal(p[5]), skus.get(pid, set())))
    return chosen


def _check_tax_setup(cur: Cursor, d: Dialect, account_id: Any, channel: str) -> None:
    """The seller and buyer reads of the tax engine; the raw SQL handles the domestic case only."""
    cur.execute(d.sql(SELECT_SELLER.format(true=d.true)), (channel,))
    sellers = cur.fetchall()
    cur.execute(d.sql(SELECT_TAX_ID), (account_id,))
    cur.fetchone()
    cur.execute(d.sql(SELECT_TAX_PROFILE), (account_id,))
    profile = cur.fetchone()
    cur.execute(d.sql(SELECT_CERTIFICATES), (account_id,))
    if len(sellers) != 1 or sellers[0][7] != VAT_COUNTRY or SHIP_TO["country"] != VAT_COUNTRY:
        raise RuntimeError("the raw SQL taxes German sales to Germany only")
    if (profile is not None and not profile[0]) or cur.fetchall():
        raise RuntimeError("the raw SQL taxes business buyers without exemptions only")


def place_catalog_order(
    cur: Cursor, d: Dialect, order: OrderSpec, *, channel: str, api_key_id: uuid.UUID, key: str
) -> None:
    """Every statement of one catalog-priced, engine-taxed placement, in the caller's transaction."""
    refs = read_refs(cur, d, order, channel=channel, api_key_id=api_key_id, key=key)
    at = d.ts(datetime.fromisoformat(ORDERED_AT).astimezone(UTC))
    skus = [line.sku for line in order.lines]
    prices = _prices(cur, d, refs.account_id, skus, at)
    promotions = _promotions(cur, d, refs.account_id, refs.channel_code, at)
    _check_tax_setup(cur, d, refs.account_id, refs.channel_code)

    oid, gid = d.id(new_id()), d.id(new_id())
    items: list[list[Any]] = []
    adjustments: list[tuple[Any, ...]] = []
    unit_prices: list[str] = []
    for line_number, line in enumerate(order.lines, start=1):
        product = refs.products[line.sku]
        base, tiers = prices[line.sku]
        unit = max(((q, p) for q, p in tiers if q <= line.quantity), default=(1, base))[1]
        amount = int((unit * line.quantity).quantize(_CENT, ROUND_HALF_UP) * 100)
        item_id = d.id(new_id())
        cut_total = 0
        for code, name, percent, only in promotions:
            net = amount - cut_total
            if net <= 0 or (only and line.sku not in only):
                continue
            cut = min(_half_up(Fraction(net) * Fraction(percent) / 100), net)
            if cut > 0:
                cut_total += cut
                adjustments.append((item_id, None, name, "promotion", code, -cut, d.id(new_id())))
        items.append([oid, gid, line_number, "product", product[0], product[1], product[2], "ordered",
                      d.price(unit), line.quantity, 0, 0, 0, 0, 0, amount, -cut_total, 0, 1, item_id])
        unit_prices.append(str(unit))
    charge = int(Decimal(SHIPPING_CHARGE) * 100)
    items.append(list(charge_row(d, oid, gid, len(items) + 1, charge)))
    unit_prices.append(SHIPPING_CHARGE)

    bases = [item[15] + item[16] for item in items]
    vat = _half_up(Fraction(sum(bases)) * Fraction(VAT_RATE))
    taxes = []
    for item, base, share in zip(items, bases, _largest_remainder(vat, bases), strict=True):
        item[17] = share
        taxes.append((item[-1], None, None, VAT_NAME, d.price(VAT_RATE), share, base, VAT_COUNTRY, "S", None,
                      d.id(new_id())))
    product_total = sum(item[15] for item in items[:-1])
    adjustment_total = sum(item[16] for item in items)
    rows = Written("catalog", "calculate", "[]", [tuple(i) for i in items], adjustments, taxes, unit_prices,
                   (product_total, adjustment_total, charge, vat, product_total + adjustment_total + charge + vat))
    write_order(cur, d, order, refs, rows)

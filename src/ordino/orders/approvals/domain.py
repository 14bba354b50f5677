"""Approval rules, pure: which rules an order trips, and why. No database, no HTTP.

Rules of the order's account and of every ancestor apply together (a parent's policy binds its
subsidiaries; a child may add stricter rules, never loosen its parent's). Each matching rule
becomes one reason with its detail, so an approver sees everything at once.

Reason kinds are an open list: the rules below produce `order_total`, `monthly_spend` and
`restricted_products`; other capabilities hold orders for reasons of their own (invoicing's
credit check: `credit_limit`) through `orders.approvals.hold_for_approval`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ordino.kernel.money import format_minor

KNOWN_REASON_KINDS = ("order_total", "monthly_spend", "restricted_products", "credit_limit")
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}\Z")


def valid_reason_kind(kind: str) -> bool:
    """Any short snake_case name; the known kinds are only the ones Ordino itself raises."""
    return bool(_KIND.match(kind))


@dataclass(frozen=True, slots=True)
class Rule:
    id: uuid.UUID
    kind: str  # order_total | monthly_spend | restricted_products
    name: str
    account: str  # the number of the account that holds the rule (the order's or an ancestor)
    amount: int | None = None
    currency: str | None = None
    contact_id: uuid.UUID | None = None
    skus: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class OrderFacts:
    currency: str
    grand_total: int
    buyer_contact_id: uuid.UUID | None
    skus: frozenset[str]
    # What the buyer's other orders of this calendar month add up to, per currency (not cancelled).
    month_spend: Mapping[str, int] = field(default_factory=dict)
    month: str = ""  # "2026-11"


@dataclass(frozen=True, slots=True)
class Reason:
    kind: str
    message: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    rule_id: uuid.UUID | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rule_id": None if self.rule_id is None else str(self.rule_id),
            "message": self.message,
            "detail": dict(self.detail),
        }


def month_of(at: datetime) -> tuple[datetime, datetime]:
    """The calendar month (UTC) holding `at`: [first instant, first instant of the next)."""
    start = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def spend_rule_applies(rule: Rule, facts: OrderFacts) -> bool:
    """A monthly limit counts a buyer's own orders: the order must have a buyer, in the rule's
    currency, and the rule must be for every buyer or for this one."""
    return (
        rule.kind == "monthly_spend"
        and facts.buyer_contact_id is not None
        and rule.currency == facts.currency
        and (rule.contact_id is None or rule.contact_id == facts.buyer_contact_id)
    )


def evaluate(rules: Iterable[Rule], facts: OrderFacts) -> list[Reason]:
    """Every rule the order trips, in the order given. Money rules count only orders in their
    currency (an account that buys in several currencies has a rule per currency)."""
    reasons: list[Reason] = []
    currency = facts.currency
    for rule in rules:
        if rule.kind == "order_total":
            if rule.currency != currency or rule.amount is None or facts.grand_total <= rule.amount:
                continue
            threshold, total = format_minor(rule.amount, currency), format_minor(facts.grand_total, currency)
            reasons.append(Reason(
                "order_total",
                f"the order total {total} {currency} is over {threshold} {currency} ({rule.name})",
                {"threshold": threshold, "order_total": total, "currency": currency, "account": rule.account},
                rule.id,
            ))
        elif rule.kind == "monthly_spend":
            if not spend_rule_applies(rule, facts) or rule.amount is None:
                continue
            spent = facts.month_spend.get(currency, 0)
            if spent + facts.grand_total <= rule.amount:
                continue
            limit, before = format_minor(rule.amount, currency), format_minor(spent, currency)
            after = format_minor(spent + facts.grand_total, currency)
            reasons.append(Reason(
                "monthly_spend",
                f"the buyer's orders of {facts.month} would reach {after} {currency}, over the monthly limit of "
                f"{limit} {currency} ({rule.name})",
                {"limit": limit, "spent": before, "order_total": format_minor(facts.grand_total, currency),
                 "spent_with_order": after, "currency": currency, "month": facts.month,
                 "contact_id": str(facts.buyer_contact_id), "account": rule.account},
                rule.id,
            ))
        elif rule.kind == "restricted_products":
            hit = sorted(rule.skus & facts.skus)
            if hit:
                reasons.append(Reason(
                    "restricted_products",
                    f"the order holds products that always need approval: {', '.join(hit)} ({rule.name})",
                    {"skus": hit, "account": rule.account},
                    rule.id,
                ))
    return reasons


def merge_reasons(held: Sequence[Mapping[str, Any]], new: Sequence[Reason]) -> list[dict[str, Any]]:
    """The reasons of a request after more are added: a reason already listed (same kind and
    rule, or same kind without a rule) is replaced by the newer one."""
    def key(kind: object, rule_id: object) -> tuple[str, str | None]:
        return str(kind), None if rule_id is None else str(rule_id)

    merged = {key(r.get("kind"), r.get("rule_id")): dict(r) for r in held}
    for reason in new:
        merged[key(reason.kind, reason.rule_id)] = reason.as_dict()
    return list(merged.values())

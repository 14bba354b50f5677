"""Step conditions in CEL (the Common Expression Language, through `cel-python`): a safe,
side-effect-free language; no Python is evaluated. A condition sees two values:

- `event`: `type`, `subject`, `data` (the event's CloudEvents fields);
- `order`: the order the event concerns (see ORDER_FIELDS), read only when a condition names it.

e.g. `order.channel == "POS" && order.grand_total >= 100000` (grand_total in minor units).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import celpy
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.celtypes import BoolType
from celpy.evaluation import CELEvalError
from lark import Token, Tree

ROOTS = ("event", "order")
EVENT_FIELDS = ("type", "subject", "data")
# The order as a condition sees it: plain values, money in minor units of `currency`.
ORDER_FIELDS = (
    "number", "status", "channel", "channel_kind", "account", "account_country", "payment_terms",
    "currency", "grand_total", "country", "payment_methods", "po_number", "pricing",
)
# CEL's global functions and macros; methods (`startsWith`, `exists`…) are called on a value.
FUNCTIONS = ("size", "has", "int", "uint", "double", "string", "bool", "bytes", "duration", "timestamp", "type",
             "dyn", "matches")


@functools.cache
def _env() -> celpy.Environment:
    """Built on first use: CEL's parser takes a moment to build, and most flows have no condition."""
    return celpy.Environment()


class ConditionError(ValueError):
    """A condition that does not compile, or names something a condition cannot see."""


class ConditionFailed(RuntimeError):
    """A condition that could not be evaluated on an event (e.g. a field the event does not have)."""


@dataclass(frozen=True, slots=True)
class Condition:
    source: str
    program: Any  # celpy.Runner
    needs_order: bool

    def holds(self, event: Mapping[str, Any], order: Mapping[str, Any] | None) -> bool:
        values = {"event": json_to_cel(dict(event)), "order": json_to_cel(dict(order or {}))}
        try:
            result = self.program.evaluate(values)
        except CELEvalError as exc:
            raise ConditionFailed(f"condition `{self.source}`: {_first_line(exc)}") from None
        if not isinstance(result, BoolType):
            raise ConditionFailed(f"condition `{self.source}` gave {result!r}, not true or false")
        return bool(result)


def _first_line(exc: Exception) -> str:
    text = str(exc.args[0]) if exc.args else str(exc)
    return text.split("\n", 1)[0][:300]


def _names(tree: Tree[Any]) -> tuple[set[str], set[tuple[str, str]]]:
    """The root names the expression reads (functions included), and the (root, field) pairs it
    reads with a dot."""
    roots: set[str] = set()
    fields: set[tuple[str, str]] = set()
    for node in tree.iter_subtrees():
        name = str(node.children[0]) if node.children else ""
        if node.data == "ident" or (node.data == "ident_arg" and name not in FUNCTIONS):
            roots.add(name)
        elif node.data == "member_dot" and len(node.children) == 2:
            inner, member = node.children
            ident = _root_ident(inner)
            if ident is not None and isinstance(member, Token):
                fields.add((ident, str(member)))
    return roots, fields


def _root_ident(node: Any) -> str | None:
    """`order` in `order.channel` (member → primary → ident), else None."""
    while isinstance(node, Tree) and node.data in ("member", "primary"):
        if len(node.children) != 1:
            return None
        node = node.children[0]
    if isinstance(node, Tree) and node.data == "ident":
        return str(node.children[0])
    return None


def compile_condition(source: str) -> Condition:
    try:
        tree = _env().compile(source)
    except CELParseError as exc:
        raise ConditionError(f"not valid CEL: {_first_line(exc)}") from None
    roots, fields = _names(tree)
    unknown = sorted(roots - set(ROOTS))
    if unknown:
        raise ConditionError(f"unknown name '{unknown[0]}' (a condition sees {' and '.join(ROOTS)})")
    for root, name in sorted(fields):
        known = ORDER_FIELDS if root == "order" else EVENT_FIELDS if root == "event" else None
        if known is not None and name not in known:
            raise ConditionError(f"{root}.{name}: {root} has {', '.join(known)}")
    return Condition(source, _env().program(tree), "order" in roots)

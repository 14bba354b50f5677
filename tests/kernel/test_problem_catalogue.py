"""The problem types in docs/api.md are the ones the code raises (DESIGN §6): one class per refusal,
each with its row (type, status, title), no row without a class, no type with two meanings."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import ordino.app  # noqa: F401  (imports every capability, so every problem class is defined)
from ordino.inventory.errors import OutOfStock
from ordino.kernel.errors import Conflict, HttpError, NotFound, Problem, problem_types

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"
ROW = re.compile(r"^\| `(?P<type>https://ordino\.dev/problems/[^`]+)` \| (?P<status>[^|]+) \| (?P<title>[^|]+) \|")


def _documented() -> dict[str, tuple[str, str]]:
    section = API_MD.read_text(encoding="utf-8").split("### Problem types", 1)[1]
    rows: dict[str, tuple[str, str]] = {}
    for line in section.splitlines():
        m = ROW.match(line)
        if m:
            assert m["type"] not in rows, f"{m['type']} has two rows"
            rows[m["type"]] = (m["status"].strip(), m["title"].strip())
    return rows


def _classes() -> list[type[Problem]]:
    return [c for c in problem_types() if c.__module__.startswith("ordino.")]


def _templated(cls: type[Problem]) -> bool:
    return "{" in cls.slug  # the slug is filled in per response (http-404, http-405 …)


def test_the_registry_lists_generic_and_capability_problem_classes() -> None:
    # given the app imported; when the problem classes are listed
    classes = _classes()
    # then the base, the generic ones and those of the capabilities are there, each once
    assert {Problem, Conflict, NotFound, HttpError, OutOfStock} <= set(classes)
    assert len(classes) == len(set(classes))
    assert OutOfStock.type_uri() == "https://ordino.dev/problems/out-of-stock"


def test_every_problem_class_has_its_row_with_its_status_and_title() -> None:
    # given the table in docs/api.md
    rows = _documented()
    # when each problem class is looked up in it
    missing = [f"{c.__module__}.{c.__name__}: {c.type_uri()}" for c in _classes() if c.type_uri() not in rows]
    wrong = [
        f"{c.__name__}: the code says {c.status} {c.title!r}, docs/api.md says {rows[c.type_uri()]}"
        for c in _classes()
        if c.type_uri() in rows and not _templated(c) and rows[c.type_uri()] != (str(c.status), c.title)
    ]
    # then none is missing and none differs
    assert (missing, wrong) == ([], [])


def test_every_row_names_a_problem_class() -> None:
    # given the types the code defines; when the table's rows are compared with them
    defined = {c.type_uri() for c in _classes()}
    stale = sorted(set(_documented()) - defined)
    # then the table lists no type that nothing raises
    assert stale == []


def test_no_two_problem_classes_give_one_type_two_meanings() -> None:
    # given every problem class; when they are grouped by type
    meanings: dict[str, set[tuple[int, str]]] = defaultdict(set)
    for c in _classes():
        meanings[c.type_uri()].add((c.status, c.title))
    # then each type has one status and one title
    assert {t: m for t, m in meanings.items() if len(m) > 1} == {}


"""docs/architecture.md opens with a picture of the floors and packages; it names every package."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_ROOT = ROOT / "src" / "ordino"


def _picture() -> str:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## Floors and packages", 1)[1]
    return section.split("```", 2)[1]


def _packages() -> list[str]:
    """Every package below src/ordino, as `name` or `parent/name/`."""
    found = []
    for init in sorted(PACKAGE_ROOT.rglob("__init__.py")):
        parts = init.parent.relative_to(PACKAGE_ROOT).parts
        if len(parts) == 1:
            found.append(parts[0])
        elif len(parts) == 2:
            found.append(f"{parts[1]}/")
    return found


def test_the_picture_names_every_package_and_subpackage() -> None:
    # given the picture at the top of docs/architecture.md
    words = set(re.findall(r"[a-z_]+/?", _picture()))
    # then every package and subpackage of the code stands in it
    assert [p for p in _packages() if p not in words] == []


def test_the_picture_floors_follow_the_import_contract() -> None:
    # given the layers of the import contract, top floor first
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    layers = re.search(r"layers = \[(.*?)\]", pyproject, re.S)
    assert layers is not None
    order = [name for line in re.findall(r'"([^"]+)"', layers.group(1)) for name in re.findall(r"ordino\.(\w+)", line)]
    # then the picture lists the packages in the same order, each on its own floor line
    column = [w for line in _picture().splitlines()[3:] for w in line[13:28].split()]
    assert column == order

"""No function in src/ is longer than 60 lines (from its `def` to its last line), unless a
`# long:` comment on the def line or the line above it says why."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
LIMIT = 60

# Known long functions still to split into named steps; remove an entry when its function is shortened.
STILL_TO_SPLIT = {
    "ordino/payments/simulator.py:create_simulator",
}


def _explained(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A `# long:` comment on the def line, on the line above it or above its decorators."""
    candidates = {node.lineno, node.lineno - 1}
    if node.decorator_list:
        candidates.add(node.decorator_list[0].lineno - 1)
    return any(0 < n <= len(lines) and "# long:" in lines[n - 1] for n in candidates)


def long_functions(root: Path = SRC) -> list[str]:
    """`path:qualified.name (lines)` for each function over the limit without a reason."""
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        name = path.relative_to(root).as_posix()

        def visit(node: ast.AST, prefix: str, name: str = name, lines: list[str] = lines) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    qualname = f"{prefix}{child.name}"
                    length = (child.end_lineno or child.lineno) - child.lineno
                    if length > LIMIT and not _explained(lines, child):
                        found.append(f"{name}:{qualname} ({length})")
                    visit(child, f"{qualname}.")
                elif isinstance(child, ast.ClassDef):
                    visit(child, f"{prefix}{child.name}.")
                else:
                    visit(child, prefix)

        visit(ast.parse(text, filename=str(path)), "")
    return found


def test_no_function_is_longer_than_60_lines_without_a_reason() -> None:
    # given every function of src/, when the long ones without a `# long:` reason are listed
    found = [f for f in long_functions() if f.rsplit(" ", 1)[0] not in STILL_TO_SPLIT]
    # then there are none
    assert found == []


def test_the_allow_list_names_only_functions_that_are_still_long() -> None:
    # an entry whose function was shortened (or renamed) goes
    still_long = {f.rsplit(" ", 1)[0] for f in long_functions()}
    assert sorted(STILL_TO_SPLIT - still_long) == []


def test_a_long_function_passes_with_a_reason_and_fails_without(tmp_path: Path) -> None:
    # given functions over the limit: one with a reason, one without, a decorated one with the reason above
    body = "".join(f"    x{i} = {i}\n" for i in range(LIMIT + 1))
    (tmp_path / "m.py").write_text(
        f"# long: one table, read top to bottom\ndef explained():\n{body}\n"
        f"def unexplained():\n{body}\n"
        f"class C:\n    # long: a reason\n    @staticmethod\n    def decorated():\n{body.replace('    ', '        ')}\n"
        f"    def method():\n{body.replace('    ', '        ')}\n"
    )
    # when the long functions are listed, then only those without a reason are
    assert long_functions(tmp_path) == ["m.py:unexplained (61)", "m.py:C.method (61)"]

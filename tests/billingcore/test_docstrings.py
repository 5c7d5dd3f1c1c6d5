"""Every public function of billingcore states its rule and where the rule comes from."""

from __future__ import annotations

import ast
from pathlib import Path

import billingcore

SOURCES = ("CONTRACT", "GitLab")
# The ISO 4217 table names its source once, in its module docstring.
SKIPPED = {"currencies.py"}


def public_functions() -> list[tuple[str, str, str | None]]:
    found = []
    for path in sorted(Path(billingcore.__file__).parent.glob("*.py")):
        if path.name in SKIPPED:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                found.append((path.name, node.name, ast.get_docstring(node)))
    return found


def test_public_functions_cite_their_source() -> None:
    """Module-level public functions carry a docstring naming CONTRACT or GitLab's policy."""
    missing = [
        f"{module}:{name}"
        for module, name, doc in public_functions()
        if doc is None or not any(source in doc for source in SOURCES)
    ]
    assert missing == []

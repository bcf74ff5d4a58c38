"""Layering contract: neloura/core never imports the web layer, runtime or settings."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "neloura" / "core"
FORBIDDEN = ("fastapi", "starlette", "uvicorn", "neloura.api", "neloura.runtime", "neloura.settings", "neloura.app")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_core_is_pure() -> None:
    offenders = [
        f"{path.name}: {name}"
        for path in sorted(CORE.rglob("*.py"))
        for name in _imports(path)
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)
    ]
    assert offenders == []


def test_core_reads_no_environment() -> None:
    offenders = [p.name for p in CORE.rglob("*.py") if "os.environ" in p.read_text() or "getenv" in p.read_text()]
    assert offenders == []

"""The layering rules of ARCHITECTURE.md, checked on the source tree."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import hookgate

PACKAGE = Path(hookgate.__file__).parent
#: Database drivers and the toolkit over them: only ``store/`` may use them.
DATABASE_LIBRARIES = ("sqlalchemy", "alembic", "asyncpg", "aiosqlite")


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every absolute import in ``path``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module


def _modules_outside(folder: str) -> list[Path]:
    inside = PACKAGE / folder
    return [p for p in sorted(PACKAGE.rglob("*.py")) if inside not in p.parents]


def test_the_tree_is_where_the_check_looks() -> None:
    assert (PACKAGE / "store" / "database.py").is_file()
    assert len(_modules_outside("store")) > 20


def test_no_module_outside_store_imports_a_database_library() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}"
        for path in _modules_outside("store")
        for line, module in _imports(path)
        if module.split(".")[0] in DATABASE_LIBRARIES
    ]
    assert offenders == []


def test_core_imports_nothing_of_ours_outside_core() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}"
        for path in sorted((PACKAGE / "core").rglob("*.py"))
        for line, module in _imports(path)
        if module.startswith("hookgate.") and not module.startswith("hookgate.core")
    ]
    assert offenders == []

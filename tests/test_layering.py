"""The apps import downward only (STYLE): core ← accounts ← clinics ← schedules ← bookings ← fhir,
each built on the ones below it, checked by import-linter (.importlinter). An import only for
type annotations (under ``TYPE_CHECKING``) does not count: it never runs."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def runtime_imports(path: Path) -> Iterator[str]:
    """The top-level packages ``path`` imports when it runs (not under ``if TYPE_CHECKING:``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    annotations_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in annotations_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0]
        elif isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)


def test_the_apps_import_only_the_layers_below_them():
    """The layer contract in .importlinter, as `make test` runs it: tidbok's configuration on top,
    then fhir, bookings, schedules, clinics, accounts and core, with no exception."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports"))], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_layer_contract_has_no_exceptions():
    """No import is let through: the workspace frame and the admin's audit by region sit in clinics,
    the timebook reads a slot's booking through the reverse relation."""
    assert "ignore_imports" not in (ROOT / ".importlinter").read_text(encoding="utf-8")
    assert "clinics" not in set(runtime_imports(ROOT / "accounts" / "services.py"))
    assert "bookings" not in set(runtime_imports(ROOT / "schedules" / "selectors.py"))


def test_finding_a_resident_by_personnummer_is_an_accounts_read():
    from accounts import selectors as accounts_selectors
    from bookings import proxy_selectors, staff_selectors, web_log_selectors

    assert accounts_selectors.resident_for_personnummer.__module__ == "accounts.selectors"
    for bookings_selectors in (proxy_selectors, staff_selectors, web_log_selectors):
        assert bookings_selectors.resident_for_personnummer is accounts_selectors.resident_for_personnummer

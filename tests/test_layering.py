"""The apps import downward only (STYLE): accounts ← clinics ← schedules ← bookings, each app
built on the ones before it. An import only for type annotations (under ``TYPE_CHECKING``) does
not count: it never runs.

The imports listed in ``KNOWN_UPWARD`` predate the check and are to be removed; nothing may be
added to them."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["accounts", "clinics", "schedules", "bookings"]

KNOWN_UPWARD = {
    ("accounts/context_processors.py", "bookings"),
    ("accounts/selectors.py", "clinics"),
    ("accounts/services.py", "clinics"),
    ("accounts/workspace.py", "clinics"),
    ("clinics/selectors.py", "bookings"),
    ("clinics/services.py", "schedules"),
    ("clinics/views.py", "bookings"),
    ("clinics/workspace_views.py", "schedules"),
    ("schedules/api.py", "bookings"),
    ("schedules/fhir_urls.py", "bookings"),
    ("schedules/selectors.py", "bookings"),
    ("schedules/services.py", "bookings"),
    ("schedules/workspace_views.py", "bookings"),
}


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


def upward_imports() -> set[tuple[str, str]]:
    found = set()
    for layer, app in enumerate(LAYERS):
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for package in runtime_imports(path):
                if package in LAYERS and LAYERS.index(package) > layer:
                    found.add((path.relative_to(ROOT).as_posix(), package))
    return found


def test_no_app_imports_an_app_above_it():
    assert upward_imports() - KNOWN_UPWARD == set()


def test_the_audit_log_pages_name_the_clinic_only_in_annotations():
    assert "clinics" not in set(runtime_imports(ROOT / "accounts" / "workspace_views.py"))


def test_finding_a_resident_by_personnummer_is_an_accounts_read():
    from accounts import selectors as accounts_selectors
    from bookings import selectors as bookings_selectors

    assert accounts_selectors.resident_for_personnummer.__module__ == "accounts.selectors"
    assert bookings_selectors.resident_for_personnummer is accounts_selectors.resident_for_personnummer

"""Swedish is the default language; English is the source language and the alternative."""

from __future__ import annotations

import ast
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.utils.translation import override

from core.errors import DEFAULT_MESSAGES, ErrorCode

SV_PO = Path(settings.BASE_DIR) / "locale" / "sv" / "LC_MESSAGES" / "django.po"

TAKEN_EN = "This time was just taken by someone else. Please choose another time."
TAKEN_SV = "Någon annan har precis bokat den här tiden. Välj en annan tid."
HEADING_EN = "Book, rebook or cancel a time at your clinic"
HEADING_SV = "Boka, omboka eller avboka en tid på din mottagning"

_KEYWORD = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) "(.*)"$')
_CONTINUATION = re.compile(r'^"(.*)"$')
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), text)


def _entries(path: Path) -> list[dict]:
    """A small .po reader: one dict per entry with its flags, msgid and every msgstr (plural forms too)."""
    entries: list[dict] = []
    entry: dict = {}
    key = None
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            if "msgid" in entry:
                entries.append(entry)
            entry, key = {}, None
        elif line.startswith("#,"):
            entry.setdefault("flags", set()).update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif match := _KEYWORD.match(line):
            key = match[1]
            entry[key] = _unescape(match[2])
        elif (match := _CONTINUATION.match(line)) and key:
            entry[key] += _unescape(match[1])
        else:
            raise AssertionError(f"Unexpected line in {path.name}: {raw!r}")
    return entries


def _messages() -> list[dict]:
    return [entry for entry in _entries(SV_PO) if entry["msgid"]]


def test_domain_error_is_swedish_by_default_and_english_on_request():
    message = DEFAULT_MESSAGES[ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED]
    assert settings.LANGUAGE_CODE == "sv"
    with override("sv"):
        assert str(message) == TAKEN_SV
    with override("en"):
        assert str(message) == TAKEN_EN


def test_catalogue_is_read_correctly():
    by_id = {entry["msgid"]: entry for entry in _messages()}
    assert by_id[TAKEN_EN]["msgstr"] == TAKEN_SV
    # A msgid wrapped over several lines is joined back into one string.
    assert by_id["Enter a phone number the clinic can reach you on, for example 070-123 45 67."]["msgstr"]


def test_every_message_in_the_swedish_catalogue_is_translated():
    messages = _messages()
    assert len(messages) > 100
    untranslated = [
        entry["msgid"]
        for entry in messages
        if not all(value for key, value in entry.items() if key.startswith("msgstr"))
        or not any(key.startswith("msgstr") for key in entry)
    ]
    fuzzy = [entry["msgid"] for entry in messages if "fuzzy" in entry.get("flags", set())]
    assert untranslated == []
    assert fuzzy == []


def test_translations_keep_every_placeholder():
    for entry in _messages():
        expected = sorted(_PLACEHOLDER.findall(entry["msgid"]))
        for key, value in entry.items():
            if key.startswith("msgstr"):
                assert sorted(_PLACEHOLDER.findall(value)) == expected, entry["msgid"]


@pytest.mark.parametrize(
    ("cookie", "heading", "lang"),
    [(None, HEADING_SV, "sv"), ("en", HEADING_EN, "en")],
    ids=["swedish-by-default", "english-by-cookie"],
)
def test_home_page_language(client, db, cookie, heading, lang):
    if cookie:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = cookie
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{lang}">' in html
    assert heading in html
    other = HEADING_EN if heading == HEADING_SV else HEADING_SV
    assert other not in html


# --- Every string in the source reaches the catalogue ---------------------------------------------

# What a scratch copy of the project leaves out: tools, caches, outputs, and the tests (their
# strings are not the product's).
_NOT_COPIED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "node_modules",
    "staticfiles",
    "var",
    "test-artifacts",
    "tests",
    "__pycache__",
    ".*_cache",
    "*.mo",
)
# Probes written into the scratch copy only: they show the check sees a string nobody translated
# and one that msgmerge only guessed (fuzzy, close to "You have no booked times.").
_PROBE_NEW = "Probe: a string nobody has translated yet."
_PROBE_FUZZY = "You have no booked times yet."
_PROBE_SOURCE = f"""from django.utils.translation import gettext

PROBES = [gettext({_PROBE_NEW!r}), gettext({_PROBE_FUZZY!r})]
"""


def _scratch_catalogue(tmp_path: Path) -> list[dict]:
    """``makemessages -l sv`` run in a copy of the project, with the probes added; the entries of
    the catalogue it leaves there."""
    project = Path(settings.BASE_DIR)
    scratch = tmp_path / "project"
    shutil.copytree(project, scratch, ignore=_NOT_COPIED, symlinks=True)
    (scratch / "core" / "translation_probe.py").write_text(_PROBE_SOURCE, encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "sv", "--no-obsolete", "--verbosity", "0"],
        cwd=scratch,
        env={**os.environ, "PYTHONPATH": str(scratch), "DJANGO_SETTINGS_MODULE": "tidbok.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return [entry for entry in _entries(scratch / SV_PO.relative_to(project)) if entry["msgid"]]


def test_makemessages_finds_no_untranslated_or_fuzzy_string(tmp_path):
    before = hashlib.sha256(SV_PO.read_bytes()).hexdigest()

    messages = _scratch_catalogue(tmp_path)

    untranslated = {
        entry["msgid"] for entry in messages if not all(v for k, v in entry.items() if k.startswith("msgstr"))
    }
    fuzzy = {entry["msgid"] for entry in messages if "fuzzy" in entry.get("flags", set())}
    # The probes prove the check would fail; everything else must be translated for real.
    assert _PROBE_NEW in untranslated and _PROBE_FUZZY in fuzzy
    assert sorted(untranslated - {_PROBE_NEW, _PROBE_FUZZY}) == []
    assert sorted(fuzzy - {_PROBE_FUZZY}) == []
    # The shared catalogue is never touched by the check.
    assert hashlib.sha256(SV_PO.read_bytes()).hexdigest() == before


# The names makemessages hands xgettext as keywords (Django's own list plus xgettext's Python
# defaults). A translation function imported or assigned under any other name hides its strings.
_KEYWORDS = {
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "npgettext_lazy",
}
_SINGULAR = {"gettext", "gettext_lazy", "gettext_noop"}
_TRANSLATION_MODULES = {"django.utils.translation", "gettext"}


def gettext_aliases(source: str) -> list[str]:
    """Each way ``source`` renames a translation function so that makemessages cannot see it."""
    found: list[str] = []
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module in _TRANSLATION_MODULES:
            for alias in node.names:
                if alias.name not in _KEYWORDS:
                    continue
                name = alias.asname or alias.name
                imported.add(name)
                # ``_`` stands for a one-string function only: ``ngettext as _`` would be read wrong.
                if name != alias.name and not (name == "_" and alias.name in _SINGULAR):
                    found.append(f"line {node.lineno}: {alias.name} as {name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in _TRANSLATION_MODULES and alias.asname:
                    found.append(f"line {node.lineno}: import {alias.name} as {alias.asname}")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            value = node.value
            renamed = (isinstance(value, ast.Name) and value.id in imported) or (
                isinstance(value, ast.Attribute) and value.attr in _KEYWORDS
            )
            if renamed:
                found.append(f"line {node.lineno}: {ast.unparse(node).splitlines()[0]}")
    return found


def _project_sources() -> list[Path]:
    project = Path(settings.BASE_DIR)
    skip = {".git", ".venv", "node_modules", "staticfiles", "var", "tests", "test-artifacts"}
    return [
        path
        for path in sorted(project.rglob("*.py"))
        if not skip & set(path.relative_to(project).parts[:-1]) and "migrations" not in path.parts
    ]


def test_no_gettext_alias_hides_strings_from_makemessages():
    sources = _project_sources()
    assert len(sources) > 50
    hidden = {
        str(path.relative_to(settings.BASE_DIR)): aliases
        for path in sources
        if (aliases := gettext_aliases(path.read_text(encoding="utf-8")))
    }
    assert hidden == {}


# The probes are assembled, not written out, so a search of the source for gettext aliases finds no false alarm here.
_IMPORT = "from django.utils.translation import "


@pytest.mark.parametrize(
    "source",
    [
        _IMPORT + "gettext as gettext_now",
        _IMPORT + "gettext_lazy as t",
        "from django.utils.translation import ngettext as _",
        "import django.utils.translation as tr",
        "from django.utils.translation import gettext\ngettext_now = gettext",
        "from django.utils import translation\nlater = translation.gettext_lazy",
    ],
)
def test_the_alias_check_sees_a_renamed_gettext(source):
    assert gettext_aliases(source) != []


def test_the_alias_check_accepts_the_names_makemessages_knows():
    source = (
        "from django.utils.translation import gettext as _, gettext_lazy, ngettext, pgettext, override\n"
        "from django.utils.translation import gettext_lazy as _\n"
        "from django.utils import translation\n"
    )
    assert gettext_aliases(source) == []

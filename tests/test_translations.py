"""Swedish is the default language; English is the source language and the alternative."""

from __future__ import annotations

import re
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

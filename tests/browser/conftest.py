"""Headless Chromium (Debian's) driven by Playwright against the live test server, with axe-core
checking every page for WCAG 2.1 A/AA violations."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop running in the test thread while the browser is
    # open; the ORM calls the tests make (and the database flush between tests) are ordinary
    # synchronous calls all the same. Module scope ends both before the ordinary tests run.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True
            )
            yield chromium
            chromium.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def browser_settings(settings):
    # The live test server speaks plain HTTP; the development identity provider stands in for eID.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.TIDBOK_DEV_LOGIN = True
    # A code typed in the last second of its 30-second window is still accepted, as authenticator
    # apps allow; otherwise a slow page makes the login fail by chance.
    settings.MFA_TOTP_TOLERANCE = 1
    return settings


# R-SEC-5: every Content-Security-Policy violation on any page a test opens is reported here.
_REPORT_CSP_VIOLATIONS = (
    'document.addEventListener("securitypolicyviolation", (e) => window.tidbokCspViolation('
    '`${location.pathname}: ${e.effectiveDirective} blocked ${e.blockedURI || "inline"} '
    "(${e.sourceFile}:${e.lineNumber})`));"
)


# The Content-Security-Policy violations each open page has reported, by id(page) (see the page fixture).
_CSP_VIOLATIONS: dict[int, list[str]] = {}


def csp_violations(page: Page) -> list[str]:
    return _CSP_VIOLATIONS[id(page)]


@pytest.fixture
def page(browser: Browser, live_server, browser_settings) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    violations: list[str] = []
    context.expose_binding("tidbokCspViolation", lambda _source, text: violations.append(text))
    context.add_init_script(_REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    _CSP_VIOLATIONS[id(page)] = violations
    page.set_default_timeout(15_000)
    yield page
    context.close()
    del _CSP_VIOLATIONS[id(page)]
    assert violations == [], "Content-Security-Policy violations"


def assert_accessible(page: Page) -> None:
    """axe-core finds no WCAG 2.0/2.1 A or AA violation on the page as it is now."""
    assert csp_violations(page) == [], "Content-Security-Policy violations"
    # Evaluated, not added as a <script>: the policy rightly refuses inline script.
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        WCAG_TAGS,
    )
    violations = [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]} for v in result["violations"]
    ]
    assert violations == [], f"{page.url}: {json.dumps(violations, indent=2, ensure_ascii=False)}"


def screenshot(page: Page, name: str) -> None:
    """Save the page at phone and desktop widths as a test artefact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    if original:
        page.set_viewport_size(original)


def check_page(page: Page, name: str) -> None:
    assert_accessible(page)
    screenshot(page, name)


def dev_login(page: Page, personnummer: str | None, next_url: str = "/start/") -> None:
    assert personnummer is not None, "only a resident logs in here"
    page.goto(f"/logga-in/test/?next={next_url}")
    page.locator("#personnummer").fill(personnummer)
    page.locator("form:has(#personnummer) button[type=submit]").click()


STAFF_PASSWORD = "a-long-staff-password-2026"
STAFF_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def make_staff_login_ready(user) -> None:
    """Give a staff user the password and TOTP authenticator :func:`staff_login` uses (R-AUTH-2)."""
    from allauth.mfa.totp.internal.auth import TOTP

    user.set_password(STAFF_PASSWORD)
    user.save()
    TOTP.activate(user, STAFF_TOTP_SECRET)


def staff_login(page: Page, user, next_url: str = "/personal/") -> None:
    """Log a staff member in through the real pages: e-mail and password, then a one-time code."""
    import time

    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    page.goto(f"/accounts/login/?next={next_url}")
    page.locator("input[name=login]").fill(user.email)
    page.locator("input[name=password]").fill(STAFF_PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    if time.time() % 30 > 25:  # do not start typing a code that is about to change
        time.sleep(30 - time.time() % 30 + 0.5)
    page.locator("input[name=code]").fill(format_hotp_value(hotp_value(STAFF_TOTP_SECRET, int(time.time()) // 30)))
    page.locator("form:has(input[name=code]) button[type=submit]").click()
    page.wait_for_url(f"**{next_url}")

"""A real OpenID Connect provider process (tests/oidc/provider.mjs, the npm `oidc-provider`
package) on a free port, with the Swedish OIDC profile's scope and claims, and Tidbok's
e-ID login configured against it; Chromium from tests/browser drives both."""

from __future__ import annotations

import copy
import json
import selectors
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser.conftest import AXE, WCAG_TAGS, browser, browser_settings, page  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_SCRIPT = Path(__file__).with_name("provider.mjs")
PNR = "https://id.oidc.se/claim/personalIdentityNumber"
COORDINATION = "https://id.oidc.se/claim/coordinationNumber"
HOME_REGION = "https://id.tidbok.test/claim/countyCode"
CLIENT_ID = "tidbok"
CLIENT_SECRET = "tidbok-test-secret"


def assert_accessible(pw_page) -> None:
    """axe-core finds no WCAG 2.0/2.1 A or AA violation. Evaluated rather than added as a script
    tag, so that the pages keep their real Content-Security-Policy (it governs the redirects to
    the provider that these tests are about)."""
    pw_page.evaluate(AXE.read_text())
    result = pw_page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS)
    violations = [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:5]} for v in result["violations"]]
    assert violations == [], f"{pw_page.url}: {json.dumps(violations, indent=2, ensure_ascii=False)}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Provider:
    issuer: str
    control_file: Path
    request_log: Path

    def reset(self, accounts: dict[str, dict]) -> None:
        self.control_file.write_text(json.dumps({"accounts": accounts, "tamper": None}))
        self.request_log.write_text("")

    def update(self, **changes) -> None:
        state = json.loads(self.control_file.read_text())
        state.update(changes)
        self.control_file.write_text(json.dumps(state))

    def set_account(self, account_id: str, claims: dict) -> None:
        state = json.loads(self.control_file.read_text())
        state["accounts"][account_id] = claims
        self.control_file.write_text(json.dumps(state))

    def requests(self, endpoint: str) -> list[dict]:
        lines = [json.loads(line) for line in self.request_log.read_text().splitlines() if line.strip()]
        return [entry for entry in lines if entry["endpoint"] == endpoint]


@pytest.fixture(scope="module")
def oidc_provider(live_server, tmp_path_factory) -> Iterator[Provider]:
    folder = tmp_path_factory.mktemp("oidc")
    port = free_port()
    provider = Provider(f"http://127.0.0.1:{port}", folder / "control.json", folder / "requests.jsonl")
    provider.reset({})
    process = subprocess.Popen(
        ["node", str(PROVIDER_SCRIPT)],
        cwd=ROOT,
        env={
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "PORT": str(port),
            "CONTROL_FILE": str(provider.control_file),
            "REQUEST_LOG": str(provider.request_log),
            "REDIRECT_URI": f"{live_server.url}/accounts/oidc/eid/login/callback/",
            "POST_LOGOUT_REDIRECT_URI": f"{live_server.url}/utloggad/",
        },
        stdout=subprocess.PIPE,
        stderr=(folder / "provider.log").open("w"),
        text=True,
    )
    assert process.stdout is not None  # stdout=subprocess.PIPE
    try:
        # Wait for the provider's own "ready" line (or its exit), not for a fixed time.
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            assert selector.select(timeout=60), "the OIDC provider did not start within 60 s"
        line = process.stdout.readline()
        assert line.startswith("ready "), f"the OIDC provider did not start: {line!r}"
        yield provider
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def eid(oidc_provider, browser_settings) -> Provider:  # noqa: F811
    """Tidbok's e-ID login pointed at the test provider, with production-like settings otherwise
    (DEBUG off; the https rule for the issuer is a start-up check, see test_eid_login.py)."""
    browser_settings.TIDBOK_DEV_LOGIN = False
    browser_settings.OIDC_ISSUER = oidc_provider.issuer
    browser_settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "provider_class": "accounts.eid.EidProvider",
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [
                {
                    "provider_id": "eid",
                    "name": "E-legitimation",
                    "client_id": CLIENT_ID,
                    "secret": CLIENT_SECRET,
                    "settings": {"server_url": oidc_provider.issuer, "token_auth_method": "client_secret_basic"},
                }
            ],
        }
    }
    # As settings.py does for a configured issuer: the login (and logout) forms' redirects go there.
    policy = copy.deepcopy(browser_settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"] = [*policy["DIRECTIVES"]["form-action"], oidc_provider.issuer]
    browser_settings.CONTENT_SECURITY_POLICY = policy
    oidc_provider.reset({})
    return oidc_provider

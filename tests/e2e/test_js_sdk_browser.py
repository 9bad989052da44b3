"""The JavaScript SDK (sdk/js/src, ES modules, no build step) in headless Chromium, on a page
of another origin than ``protekt serve``, and the CORS allow-list that lets it read the answers.

A static site on loopback serves sdk/js/src under /sdk/ and a page that imports it; Protekt
names that site's origin, exactly, in ``PROTEKT_CORS_ORIGINS``. In the browser the SDK logs in,
enrolls an authenticator app (codes from oathtool), passes the MFA login after a wrong code, keeps
the session in ``sessionStorage`` across a reload and ends it with logout (the refresh token is
revoked); an SMS resend inside the cool-down is refused with a readable ``Retry-After``; the
preflight of a Bearer call is answered for the allowed origin; two tabs sharing ``localStorage``
renew the session once, the second finding it renewed (Web Locks API) instead of spending the
refresh token again. The same page served from a port
not in the list gets ``network_error`` from the same calls: the browser withholds the answers.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from authserver.mfa.verification import WRONG_CODE
from tests.e2e.conftest import PASSWORD, Deployment, needs_chromium
from tests.e2e.test_mfa_flow import need, oathtool_device
from tests.support import Outbox

SDK_SRC = Path(__file__).resolve().parents[2] / "sdk" / "js" / "src"
pytestmark = [pytest.mark.e2e, needs_chromium]
ANN = "ann@example.org"  # made by the e2e conftest; the authenticator-app journey
SMS_USER = "sms-user@example.org"
PLAIN_USER = "plain-user@example.org"  # password only, for the preflight check
TABS_USER = "tabs-user@example.org"  # password only, for the two tabs
PHONE = "+16505550123"
SMS_COOLDOWN = 30  # the settings' default, set here so the Retry-After bound below holds

# The page imports the SDK as published (sdk/js/src/index.js) and exposes it to page.evaluate:
# start() makes the client, its session kept in sessionStorage (or `area`), its requests noted
# by grant type in `grants` and sent `delayMs` late; settle() turns a thrown ProtektError into
# plain data, as Playwright carries only an exception's message out of the page.
INDEX_HTML = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Protekt SDK in the browser</title></head>
<body>
<p id="state">loading</p>
<script type="module">
import { browserStorage, createProtekt } from '/sdk/index.js';

window.start = (options, { area = 'sessionStorage', delayMs = 0 } = {}) => {
  window.grants = [];
  const fetch = async (url, init) => {
    if (init?.body instanceof URLSearchParams) window.grants.push(init.body.get('grant_type'));
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    return window.fetch(url, init);
  };
  window.protekt = createProtekt({ ...options, fetch, storage: browserStorage(window[area]) });
};
window.settle = async (work) => {
  try {
    return { ok: true, value: await work() };
  } catch (e) {
    return {
      ok: false, name: e?.name, error: e?.error ?? null, message: String(e?.message ?? e),
      status: e?.status ?? null, retryAfter: e?.retryAfter ?? null,
    };
  }
};
document.getElementById('state').textContent = 'ready';
</script>
</body>
</html>
"""


class StaticSite(BaseHTTPRequestHandler):
    """GET / (the page) and /sdk/<file>.js (sdk/js/src, as JavaScript); 404 for anything else."""

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            self._send(INDEX_HTML.encode(), "text/html; charset=utf-8")
            return
        name = path.removeprefix("/sdk/")
        source = SDK_SRC / name
        if path.startswith("/sdk/") and "/" not in name and name.endswith(".js") \
                and source.is_file():
            self._send(source.read_bytes(), "text/javascript; charset=utf-8")
            return
        self.send_error(404)

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test's output is the report."""


@dataclass
class Spa:
    """Protekt, the public client the page uses, and the page's two origins."""

    deployment: Deployment
    client_id: str
    allowed: str  # in PROTEKT_CORS_ORIGINS
    other: str  # the same site on a port Protekt does not name
    outbox: Outbox


def serve_static_site() -> ThreadingHTTPServer:
    """The static site on a port of its own (bound now, so nobody else takes it)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), StaticSite)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def origin(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="module")
def spa(make_deployment: Callable[..., Deployment],
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Spa]:
    """Two static sites, then Protekt allowing the first one's origin, MFA on (app, SMS,
    recovery codes) and a public client, made with the CLI as an operator would."""
    need("oathtool", "oathtool")
    sites = [serve_static_site(), serve_static_site()]
    try:
        allowed, other = (origin(site) for site in sites)
        outbox = Outbox(tmp_path_factory.mktemp("sms") / "outbox.jsonl")
        deployment = make_deployment(PROTEKT_CORS_ORIGINS=allowed, PROTEKT_SMS_PROVIDER="file",
                                     PROTEKT_SMS_OUTBOX=str(outbox.path))
        commands = [
            ("create-client", "--name", "SPA", "--public", "--json"),
            ("mfa", "settings", "--enable", "--factors", "otp,sms,recovery-code",
             "--sms-resend-cooldown", str(SMS_COOLDOWN)),
            ("sms", "credits", "--add", "10"),
            *(("create-user", "--email", email, "--password", PASSWORD)
              for email in (SMS_USER, PLAIN_USER, TABS_USER)),
        ]
        with ThreadPoolExecutor(max_workers=len(commands)) as pool:
            made, *_ = pool.map(lambda args: deployment.cli(*args), commands)
        yield Spa(deployment, json.loads(made.stdout)["client_id"], allowed, other, outbox)
    finally:
        for site in sites:
            site.shutdown()
            site.server_close()


@pytest.fixture
def new_page(browser: Browser, spa: Spa) -> Iterator[Callable[[str], Page]]:
    """Open the page at an origin, in a fresh context, with a client for Protekt started."""
    contexts = []

    def open_at(site: str) -> Page:
        context = browser.new_context()
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        load(page, site, spa)
        return page

    yield open_at
    for context in contexts:
        context.close()


def load(page: Page, site: str, spa: Spa, **page_options: Any) -> None:
    """(Re)load the page and make a client; a session in sessionStorage (or `area`) is picked
    up. `page_options` are start()'s: `area`, `delayMs`."""
    page.goto(site + "/")
    page.wait_for_function("() => document.getElementById('state').textContent === 'ready'")
    page.evaluate("([options, page_options]) => start(options, page_options)",
                  [{"domain": spa.deployment.url, "clientId": spa.client_id}, page_options])


def run(page: Page, call: str, arg: Any = None) -> dict[str, Any]:
    """Await `call` (JavaScript on `protekt`, the page's client, and `arg`) in the page:
    ``{"ok": True, "value": ...}`` or the thrown error as ``{"ok": False, "error", ...}``."""
    return page.evaluate(f"(arg) => settle(async () => {call})", arg)


def ok(page: Page, call: str, arg: Any = None) -> Any:
    result = run(page, call, arg)
    assert result["ok"], result
    return result["value"]


def refused(page: Page, call: str, arg: Any = None) -> dict[str, Any]:
    result = run(page, call, arg)
    assert not result["ok"], result
    assert result["name"] == "ProtektError", result
    return result


def claims(jwt: str) -> dict[str, Any]:
    """A JWT's payload, unverified (the signature is the server tests' business)."""
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def credentials(email: str) -> dict[str, str]:
    return {"username": email, "password": PASSWORD}


def test_login_enroll_and_mfa_login_in_a_browser_on_another_origin(
    new_page: Callable[[str], Page], spa: Spa,
) -> None:
    page = new_page(spa.allowed)
    tokens = ok(page, "protekt.login(arg)", credentials(ANN))
    assert tokens["token_type"] == "Bearer" and tokens["refresh_token"]
    assert claims(tokens["access_token"])["amr"] == ["pwd"]
    assert ok(page, "protekt.getTokenSilently()") == tokens["access_token"]

    enrollment = ok(page, "protekt.mfa.enroll({type: 'otp'}, arg)", tokens["access_token"])
    assert enrollment["authenticator_type"] == "otp" and len(enrollment["recovery_codes"]) == 10
    device = oathtool_device(enrollment["secret"])
    confirmed = ok(page, "protekt.mfa.confirmEnrollment(arg.id, {otp: arg.otp}, arg.token)",
                   {"id": enrollment["id"], "otp": device.next_code(),
                    "token": tokens["access_token"]})
    assert confirmed == {"id": enrollment["id"], "authenticator_type": "otp", "active": True}

    required = ok(page, "protekt.login(arg)", credentials(ANN))
    assert required["mfa_required"] is True and required["mfa_token"]
    assert required["available_factors"] == ["otp", "recovery-code"]
    ticket = required["mfa_token"]
    challenge = ok(page, "protekt.mfa.challenge({mfa_token: arg, challenge_type: 'otp'})", ticket)
    assert challenge == {"challenge_type": "otp"}
    right = device.next_code()
    wrong = refused(page, "protekt.mfa.verify(arg)",
                    {"mfa_token": ticket, "otp": "000000" if right != "000000" else "111111"})
    assert (wrong["error"], wrong["status"]) == ("invalid_grant", 400)
    assert wrong["message"] == WRONG_CODE
    mfa_tokens = ok(page, "protekt.mfa.verify(arg)", {"mfa_token": ticket, "otp": right})
    assert mfa_tokens["access_token"] != tokens["access_token"]
    session_token = ok(page, "protekt.getTokenSilently()")
    assert session_token == mfa_tokens["access_token"]
    assert claims(session_token)["amr"] == ["pwd", "otp", "mfa"]

    load(page, spa.allowed, spa)  # a reload: a new client, the session from sessionStorage
    assert ok(page, "protekt.getTokenSilently()") == session_token

    assert ok(page, "protekt.logout()") is None
    revoked = refused(page, "protekt.refresh(arg)", mfa_tokens["refresh_token"])
    assert (revoked["error"], revoked["status"]) == ("invalid_grant", 400)
    assert page.evaluate("() => window.sessionStorage.length") == 0
    gone = refused(page, "protekt.getTokenSilently()")
    assert (gone["error"], gone["status"]) == ("login_required", 0)


def test_an_sms_resend_in_the_cool_down_is_refused_with_a_readable_retry_after(
    new_page: Callable[[str], Page], spa: Spa,
) -> None:
    page = new_page(spa.allowed)
    assert claims(ok(page, "protekt.login(arg)", credentials(SMS_USER))["access_token"])["amr"] \
        == ["pwd"]
    enrolled = ok(page, "protekt.mfa.enroll({type: 'sms', phone_number: arg})", PHONE)
    assert (enrolled["authenticator_type"], enrolled["oob_channel"], enrolled["active"]) == (
        "oob", "sms", True)

    required = ok(page, "protekt.login(arg)", credentials(SMS_USER))
    assert required["available_factors"] == ["sms", "recovery-code"]
    sms = {"mfa_token": required["mfa_token"], "challenge_type": "sms"}
    challenge = ok(page, "protekt.mfa.challenge(arg)", sms)
    assert challenge["challenge_type"] == "oob" and challenge["binding_method"] == "prompt"
    resend = refused(page, "protekt.mfa.challenge(arg)", sms)
    assert (resend["error"], resend["status"]) == ("too_many_attempts", 429)
    assert resend["message"].startswith("A code was just sent to this phone.")
    assert isinstance(resend["retryAfter"], int) and 0 < resend["retryAfter"] <= SMS_COOLDOWN + 1

    # The refused resend left the first code valid, and the SDK kept its oob_code for verify.
    tokens = ok(page, "protekt.mfa.verify(arg)",
                {"mfa_token": required["mfa_token"], "otp": spa.outbox.last_code(PHONE)})
    assert claims(tokens["access_token"])["amr"] == ["pwd", "sms", "mfa"]
    assert len(spa.outbox.messages()) == 1


class DevTools:
    """A page's network events from Chromium's DevTools protocol: Playwright's own request
    events leave out CORS preflights, and say nothing of why a cross-origin read was blocked."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.events: list[tuple[str, dict[str, Any]]] = []
        session = page.context.new_cdp_session(page)
        session.send("Network.enable")
        for name in ("responseReceived", "loadingFailed"):
            session.on(f"Network.{name}",
                       lambda event, name=name: self.events.append((name, event)))

    def answers(self, kind: str) -> list[dict[str, Any]]:
        """Answers the page got, of one kind (``Preflight``, ``Fetch``): url, status and
        headers (names in lowercase)."""
        return [{"url": e["response"]["url"], "status": e["response"]["status"],
                 "headers": {k.lower(): v for k, v in e["response"]["headers"].items()}}
                for name, e in self.events if name == "responseReceived" and e["type"] == kind]

    def cors_errors(self) -> list[str]:
        """Why Chromium withheld answers from the page; waits a little for the first one, as
        the event may come after the page's fetch has already rejected."""
        for _ in range(40):
            errors = [e["corsErrorStatus"]["corsError"] for name, e in self.events
                      if name == "loadingFailed" and "corsErrorStatus" in e]
            if errors:
                return errors
            self.page.wait_for_timeout(50)  # lets Playwright deliver pending events
        return []


def test_the_preflight_of_a_bearer_call_is_answered_for_the_allowed_origin(
    new_page: Callable[[str], Page], spa: Spa,
) -> None:
    page = new_page(spa.allowed)
    devtools = DevTools(page)
    ok(page, "protekt.login(arg)", credentials(PLAIN_USER))
    assert ok(page, "protekt.mfa.listAuthenticators()") == []

    url = f"{spa.deployment.url}/mfa/authenticators"
    # Only the Bearer call needs a preflight: the SDK's form POSTs and discovery are simple.
    preflights = devtools.answers("Preflight")
    assert [(p["url"], p["status"]) for p in preflights] == [(url, 204)]
    headers = preflights[0]["headers"]
    assert headers["access-control-allow-origin"] == spa.allowed
    assert "authorization" in headers["access-control-allow-headers"].lower()
    assert "GET" in headers["access-control-allow-methods"]
    fetched = {p["url"]: p for p in devtools.answers("Fetch")}
    assert fetched[url]["status"] == 200
    assert fetched[url]["headers"]["access-control-allow-origin"] == spa.allowed
    assert "retry-after" in fetched[url]["headers"]["access-control-expose-headers"].lower()


def test_a_page_on_an_origin_not_in_the_allow_list_cannot_read_the_answers(
    new_page: Callable[[str], Page], spa: Spa,
) -> None:
    nobody = {"username": "nobody@example.org", "password": "not the password"}
    allowed = refused(new_page(spa.allowed), "protekt.login(arg)", nobody)
    assert (allowed["error"], allowed["status"]) == ("invalid_grant", 400)  # Protekt's answer

    page = new_page(spa.other)
    devtools = DevTools(page)
    blocked = refused(page, "protekt.login(arg)", nobody)
    assert (blocked["error"], blocked["status"]) == ("network_error", 0)
    assert blocked["message"] == (
        f"Protekt at {spa.deployment.url} did not answer (Failed to fetch). In a browser this "
        "also means the page's origin is not in the server's PROTEKT_CORS_ORIGINS.")
    # Protekt answered, but without naming this origin: Chromium kept the answer from the page.
    assert devtools.cors_errors() == ["MissingAllowOriginHeader"]


def test_two_tabs_sharing_local_storage_renew_the_session_once(browser: Browser, spa: Spa) -> None:
    context = browser.new_context()
    try:
        context.set_default_timeout(10_000)
        tabs = [context.new_page() for _ in range(2)]
        for tab in tabs:  # each request 300 ms late: the second tab asks while the first renews
            load(tab, spa.allowed, spa, area="localStorage", delayMs=300)
        tokens = ok(tabs[0], "protekt.login(arg)", credentials(TABS_USER))
        # The session is due for renewal (within refreshMarginSeconds, 60 s, of its expiry).
        tabs[0].evaluate("""(key) => {
            const session = JSON.parse(localStorage.getItem(key));
            const soon = { ...session, expires_at: Date.now() + 1000 };
            localStorage.setItem(key, JSON.stringify(soon));
        }""", f"protekt:{spa.client_id}")
        for tab in tabs:
            tab.evaluate("() => { window.renewal = settle(() => protekt.getTokenSilently()); }")
        renewed = [tab.evaluate("() => window.renewal") for tab in tabs]
        assert renewed[0]["ok"] and renewed[1] == renewed[0], renewed
        assert renewed[0]["value"] != tokens["access_token"]
        # Exactly one renewal between the two tabs. Which tab sends it depends on which one
        # takes the lock first, which a loaded machine may change: that is not the point.
        grants = [tab.evaluate("() => window.grants") for tab in tabs]
        assert grants[0][0] == "password", grants
        assert sorted(grants[0][1:] + grants[1]) == ["refresh_token"], grants
        # The login is still alive: its rotated refresh token renews again.
        assert ok(tabs[1], "protekt.refresh()")["access_token"]
    finally:
        context.close()

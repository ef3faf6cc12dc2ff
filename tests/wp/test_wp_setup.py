"""The first-run setup (Rust Mail → Setup) in real Chromium, against real servers on loopback: the owner picks a
provider, answers its questions (checked as they are typed), sends a test mail and sees it delivered. Each scenario
ends with the mail at the server and the settings saved through the settings page's own path.

Direct send finds its host in a real dnsmasq (the `rust_mail_nameserver` filter points the extension's lookups at it,
through tests/wp/mu-plugins/rust-mail-test-nameserver.php); the domain's MX is `localhost`, the one name that both
dnsmasq and the system resolver the send uses know, so the mail reaches the local server."""
import json

import pytest

from harness.diag_servers import Dnsmasq
from harness.oauth_server import AuthorizationServer
from harness.wpstack import run_browser

TENANT = "contoso.onmicrosoft.com"
CLIENT_ID = "6f1c0b9e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"
CLIENT_SECRET = "Q~setup-secret-0123456789"
MAILBOX = "site@contoso.example"


def unconfigured(wp):
    """A site fresh from activation: no settings stored."""
    wp.php("RustMail_Settings_Store::delete_plugin_option(RustMail_Settings_Store::OPTION); out(true);")


def run_setup(wp, scenario, preset, answers, test_to="owner@example.com", **env):
    output = run_browser(wp, "setup.mjs", SCENARIO=scenario, PRESET=preset, ANSWERS=json.dumps(answers),
                         TEST_TO=test_to, **env)
    return json.loads(output.strip().splitlines()[-1])


def saved(wp, *keys):
    return wp.php(f"out(array_map(array('RustMail_Settings_Store', 'get'), {json.dumps(list(keys)).replace('[', 'array(').replace(']', ')')}));")


def test_local_server(wp, capture):
    server = capture()
    unconfigured(wp)
    # The local server listens on a port of the kernel's, not 25: wp-config.php fixes it, as a host could.
    wp.set_constants({"RUST_MAIL_PORT": server.port})
    outcome = run_setup(wp, "local", "localhost", {"from": "shop@example.com"},
                        BAD_ANSWERS=json.dumps({"from": "shop@contoso"}))
    # Only this provider's one question, and a wrong answer refused in words as it was typed.
    assert outcome["questions"] == ["from"] and outcome["otherQuestionsShown"] == 1
    assert outcome["problems"] == {"from": '"shop@contoso" is not an e-mail address such as wordpress@example.com.'}
    assert outcome["resultKind"] == "success", outcome
    assert "Delivered: the server accepted the test mail to owner@example.com." in outcome["result"]
    [message] = server.messages()
    assert message.rcpt_tos == ["owner@example.com"] and message.mail_from == "shop@example.com"
    assert saved(wp, "preset", "host", "from") == ["localhost", "localhost", "shop@example.com"]
    assert outcome["reopenLink"].endswith("page=rust-mail-setup") and outcome["noticeAfter"] is False

"""php/examples/oauth_signin.php, run from a shell as a developer would: it signs a mailbox in once (authorization
code + PKCE through a loopback redirect), prints the refresh token to store, then sends with it through XOAUTH2.

The local authorization server (tests/harness/oauth_server.py) stands in for Microsoft's and Google's through the
environment variables the script reads; the test plays the browser. The SMTP server takes only its live tokens."""
import os
import re
import subprocess
import urllib.parse
import urllib.request

import pytest

from harness.oauth_server import AuthorizationServer
from harness.php import EXAMPLES, extension_path

CLIENT_ID = "example-client-id"
CLIENT_SECRET = "example-secret-4f2a9c"
MAILBOX = "me@outlook.example"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def auth_server():
    server = AuthorizationServer("contoso.onmicrosoft.com", CLIENT_ID, CLIENT_SECRET, account=MAILBOX)
    yield server
    server.stop()


def example(auth_server, *args, refresh_token=None):
    env = dict(os.environ, CLIENT_SECRET=CLIENT_SECRET, RUST_MAIL_OAUTH_TOKEN_URL=auth_server.url,
               RUST_MAIL_OAUTH_GOOGLE_TOKEN_URL=auth_server.google_token_url,
               RUST_MAIL_OAUTH_GOOGLE_AUTHORIZE_URL=auth_server.google_authorize_url)
    if refresh_token:
        env["RUST_MAIL_REFRESH_TOKEN"] = refresh_token
    return subprocess.Popen(["php", "-n", "-d", f"extension={extension_path()}", str(EXAMPLES / "oauth_signin.php"),
                             *args, "--client-id=" + CLIENT_ID, "--client-secret-env=CLIENT_SECRET"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def browse(url, data=None):
    """The browser: one request, no redirect followed; returns (status, Location, body)."""
    opener = urllib.request.build_opener(NoRedirect())
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with opener.open(urllib.request.Request(url, data=body), timeout=30) as response:
            return response.status, response.headers.get("Location"), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location"), error.read().decode()


def sign_in(auth_server, provider):
    run = example(auth_server, f"--provider={provider}", "--redirect-host=127.0.0.1", "--tenant=consumers")
    assert run.stdout.readline().startswith("Open this address in a browser")
    address = run.stdout.readline().strip()
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(address).query))
    assert query["code_challenge_method"] == "S256" and query["redirect_uri"].startswith("http://127.0.0.1:")
    status, _, page = browse(address)
    assert status == 200 and "Accept" in page, page
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
    status, back, _ = browse(auth_server.base + "/consent", dict(fields, decision="accept"))
    assert status == 302 and back.startswith(query["redirect_uri"])
    status, _, text = browse(back)
    assert status == 200 and "Signed in" in text
    out, err = run.communicate(timeout=30)
    assert run.returncode == 0, out + err
    return out, query


@pytest.mark.parametrize("provider", ["microsoft", "google"])
def test_example_signs_in_then_sends_with_the_stored_refresh_token(auth_server, smtp_server, certs, provider):
    out, query = sign_in(auth_server, provider)
    assert f"Signed in as {MAILBOX}." in out
    stored = re.search(r"^refresh_token: (\S+)$", out, re.M).group(1)
    assert stored == auth_server.current_refresh_token(MAILBOX)
    [exchange] = auth_server.grant_requests("authorization_code")
    expected_path = "/consumers/oauth2/v2.0/token" if provider == "microsoft" else "/google/token"
    assert exchange["path"] == expected_path and exchange["redirect_uri"] == query["redirect_uri"]

    smtp = smtp_server(tls="starttls", auth={"verify": auth_server.check_access_token}, auth_mechanisms=["XOAUTH2"])
    run = example(auth_server, f"--provider={provider}", "--tenant=consumers", "--send-to=you@example.com",
                  f"--username={MAILBOX}", "--smtp-host=127.0.0.1", f"--smtp-port={smtp.port}",
                  f"--ca-file={certs.ca}", refresh_token=stored)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 0, out + err
    assert f"to you@example.com as {MAILBOX}" in out
    # The provider rotated the refresh token: the script says to store the new one.
    rotated = re.search(r"^refresh_token: (\S+)$", out, re.M).group(1)
    assert rotated == auth_server.current_refresh_token(MAILBOX) != stored
    [message] = smtp.messages
    assert message.auth_user == MAILBOX and message.tls
    assert [(a.mechanism, a.user, a.success) for a in smtp.auth_attempts] == [("XOAUTH2", MAILBOX, True)]
    # The spent refresh token no longer works, and the script says so in the provider's words.
    run = example(auth_server, f"--provider={provider}", "--send-to=you@example.com", f"--username={MAILBOX}",
                  "--smtp-host=127.0.0.1", f"--smtp-port={smtp.port}", refresh_token=stored)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 1 and "token request refused: AADSTS70000" in err

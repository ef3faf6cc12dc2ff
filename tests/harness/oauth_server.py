"""A real OAuth2 authorization server on 127.0.0.1 standing in for Microsoft's and Google's, for the XOAUTH2 tests.

It speaks what the plugin and php/examples/oauth_signin.php speak to login.microsoftonline.com and to Google:
- Microsoft: /{tenant}/oauth2/v2.0/token (client credentials, authorization code, refresh token) and
  /{tenant}/oauth2/v2.0/authorize (a consent page);
- Google: /google/token, /google/auth and /google/revoke (revokes the whole sign-in a token belongs to).

It checks what a real one checks: the client and its secret, the redirect URI, the state round trip (it hands back
what it got), PKCE (S256 only), that a code is used once (a replayed code is refused and the tokens issued for it are
revoked, RFC 6749 4.1.2), and it rotates refresh tokens strictly: a refresh token that was already traded is refused
with invalid_grant and its whole family revoked, as RFC 9700 advises, so two workers spending the same refresh token
would lose the sign-in. revoke() ends a sign-in as a user or an administrator does. Every token request is recorded.

check_access_token() is what the test SMTP server asks before it accepts an XOAUTH2 login; token_permissions() is what
the Graph and Gmail contract servers (harness/api_servers.py) ask to judge a token's scopes or roles, as the real APIs
do. A sign-in grants the scopes the consent page was asked for (the token answer's `scope` lists them, as Microsoft's
and Google's do); Microsoft Graph's app-only token (client credentials, scope https://graph.microsoft.com/.default)
is JWT-shaped as Microsoft's is, with the application permissions admin consent granted (`app_roles`) in its `roles`
claim; the other tokens are opaque."""
import base64
import hashlib
import html
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MICROSOFT_SMTP_SCOPE = "https://outlook.office.com/SMTP.Send"
GOOGLE_SMTP_SCOPE = "https://mail.google.com/"
APP_ONLY_SCOPE = "https://outlook.office365.com/.default"
# The app's token for Microsoft Graph (sendMail with the application permission Mail.Send).
GRAPH_APP_ONLY_SCOPE = "https://graph.microsoft.com/.default"
# The delegated scopes of the sending APIs: Graph's sendMail and the Gmail API's messages.send.
GRAPH_SEND_SCOPE = "https://graph.microsoft.com/Mail.Send"
GMAIL_SEND_SCOPE = "https://www.googleapis.com/auth/gmail.send"
# A sign-in asks for one of the provider's mail scopes at least: SMTP's, the sending API's, or a reading one (which
# the tests use for a token that may not send).
SIGN_IN_SCOPES = {
    "microsoft": (MICROSOFT_SMTP_SCOPE, GRAPH_SEND_SCOPE, "https://graph.microsoft.com/Mail.Read"),
    "google": (GOOGLE_SMTP_SCOPE, GMAIL_SEND_SCOPE, "https://www.googleapis.com/auth/gmail.readonly"),
}
# Google lists OpenID Connect's `email` among the granted scopes under its own name.
GOOGLE_SCOPE_NAMES = {"email": "https://www.googleapis.com/auth/userinfo.email"}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def id_token(audience, email):
    """An OpenID Connect ID token (unsigned: the client takes it straight from the token endpoint)."""
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    claims = b64url(json.dumps({"aud": audience, "iss": "http://127.0.0.1/", "email": email,
                                "preferred_username": email, "iat": int(time.time())}).encode())
    return f"{header}.{claims}."


def app_only_token(client_id, tenant, roles, expires_in):
    """Microsoft Graph's app-only access token: a JWT whose `roles` claim holds the app's application permissions.
    Its signature is random bytes: Microsoft signs with RS256, and neither the client nor Diagnose checks it."""
    now = int(time.time())
    header = b64url(json.dumps({"typ": "JWT", "alg": "RS256", "kid": "test-key"}).encode())
    claims = b64url(json.dumps({"aud": "https://graph.microsoft.com", "iss": f"https://sts.windows.net/{tenant}/",
                                "iat": now, "nbf": now, "exp": now + expires_in, "appid": client_id,
                                "idtyp": "app", "roles": list(roles), "tid": tenant}).encode())
    return f"{header}.{claims}.{b64url(secrets.token_bytes(32))}"


class AuthorizationServer:
    def __init__(self, tenant, client_id, client_secret, account="", redirect_uris=()):
        self.tenant = tenant
        self.client_id = client_id
        self.client_secret = client_secret
        self.account = account                      # who signs in on the consent page
        self.redirect_uris = set(redirect_uris)     # registered; empty: any loopback http URI
        self.token = "eyJ0eXAiOiJKV1Qi." + secrets.token_urlsafe(40)  # the client credentials grant's token
        self.app_roles = ["Mail.Send"]              # Graph application permissions consented for the app
        self.app_token_lifetime = 3599              # seconds; negative: Graph app-only tokens issued already expired
        self.app_tokens = {}                        # Graph app-only token -> its claims
        self.declined = set()                       # scopes the user unticks on the consent page (Google's
                                                    # granular consent): asked for, not granted
        self.requests = []                          # form fields of every token request (only the test reads them)
        self.refresh_delay = 0.0                    # seconds a refresh takes (to widen a race)
        self.access_tokens = {}                     # token -> {"account", "family", "provider"}
        self.refresh_tokens = {}                    # token -> {"family", "used": bool}
        self.families = {}                          # family -> {"account", "revoked", "client_id", "provider"}
        self.codes = {}                             # code -> details, "used"
        self.issued = []                            # every access and refresh token ever issued
        self.revocations = []                       # form fields of every revocation request
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path.endswith("/oauth2/v2.0/authorize") or url.path == "/google/auth":
                    self.consent_page(url.path, query)
                else:
                    self.answer(404, {"error": "not_found"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                if self.path == "/consent":
                    self.consent(form)
                    return
                if self.path == "/google/revoke":
                    server.revocations.append(dict(form, path=self.path))
                    self.answer(*server.revoke_token(form.get("token", "")))
                    return
                server.requests.append(dict(form, path=self.path))
                status, body = server.token_request(self.path, form)
                self.answer(status, body)

            def consent_page(self, path, query):
                provider = "google" if path.startswith("/google/") else "microsoft"
                problem = server.authorize_problem(provider, path, query)
                if problem:
                    self.page(400, f"<h1>Sign-in error</h1><p id='error'>{html.escape(problem)}</p>")
                    return
                fields = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                                 for k, v in dict(query, provider=provider).items())
                name = "Microsoft" if provider == "microsoft" else "Google"
                self.page(200, f"""<h1>Sign in to {name} (test authorization server)</h1>
<p>Account: <strong id="account">{html.escape(server.account)}</strong></p>
<p>The app <code>{html.escape(query.get('client_id', ''))}</code> asks to:</p>
<ul>{''.join(f'<li>{html.escape(s)}</li>' for s in query.get('scope', '').split())}</ul>
<form method="post" action="/consent">{fields}
<button type="submit" name="decision" value="accept" id="accept">Accept</button>
<button type="submit" name="decision" value="cancel" id="cancel">Cancel</button></form>""")

            def consent(self, form):
                redirect_uri, state = form.get("redirect_uri", ""), form.get("state", "")
                if form.get("decision") != "accept":
                    params = {"error": "access_denied", "error_description": "The user cancelled the sign-in.",
                              "state": state}
                else:
                    params = {"code": server.issue_code(form), "state": state}
                self.send_response(302)
                self.send_header("Location", redirect_uri + "?" + urllib.parse.urlencode(params))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def page(self, status, body):
                data = f"<!doctype html><html><head><title>Test sign-in</title></head><body>{body}</body></html>".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = self.base + "/{tenant}/oauth2/v2.0/token"
        self.google_token_url = self.base + "/google/token"
        self.google_authorize_url = self.base + "/google/auth"
        self.google_revoke_url = self.base + "/google/revoke"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # -- what the tests ask

    def constants(self):
        """The wp-config.php constants that point the plugin at this server."""
        return {"RUST_MAIL_OAUTH_TOKEN_URL": self.url, "RUST_MAIL_OAUTH_GOOGLE_TOKEN_URL": self.google_token_url,
                "RUST_MAIL_OAUTH_GOOGLE_AUTHORIZE_URL": self.google_authorize_url,
                "RUST_MAIL_OAUTH_GOOGLE_REVOKE_URL": self.google_revoke_url}

    def grant_requests(self, grant_type):
        return [r for r in self.requests if r.get("grant_type") == grant_type]

    def check_access_token(self, user, token):
        """For the SMTP server: a token this server issued, not revoked, for this very mailbox."""
        with self.lock:
            app = self.app_tokens.get(token)
            if app is not None:
                # An app-only token is for the app, not a mailbox: Graph takes it for any mailbox until it expires.
                return app["exp"] > time.time()
            issued = self.access_tokens.get(token)
            return bool(issued) and issued["account"] == user and not self.families[issued["family"]]["revoked"]

    def token_permissions(self, token):
        """What an access token this server issued may do, as the resource API reads it: {"roles": [...]} for a
        Graph app-only token, {"scopes": [...]} for a sign-in's, or None for a token it did not issue."""
        with self.lock:
            if token in self.app_tokens:
                return {"roles": list(self.app_tokens[token]["roles"])}
            issued = self.access_tokens.get(token)
            return {"scopes": list(self.families[issued["family"]]["scopes"])} if issued else None

    def current_refresh_token(self, account):
        """The refresh token of the account's live sign-in that has not been traded yet."""
        with self.lock:
            live = [t for t, r in self.refresh_tokens.items()
                    if not r["used"] and not self.families[r["family"]]["revoked"]
                    and self.families[r["family"]]["account"] == account]
        return live[-1] if live else None

    def invalidate_access_tokens(self):
        """The resource side stops taking the access tokens issued so far (as Exchange does on a security event);
        the sign-in itself stays good."""
        with self.lock:
            self.access_tokens.clear()

    def revoke(self, account):
        """The user (or an administrator) ends every sign-in of the account: refresh and access tokens stop working."""
        with self.lock:
            for family in self.families.values():
                if family["account"] == account:
                    family["revoked"] = True

    # -- the protocol

    def authorize_problem(self, provider, path, query):
        if provider == "microsoft" and path.split("/")[1] not in (self.tenant, "common", "consumers", "organizations"):
            return "AADSTS90002: Tenant not found."
        if query.get("client_id") != self.client_id:
            return "AADSTS700016: Application not found in the directory."
        if query.get("response_type") != "code":
            return "unsupported_response_type"
        if not self.redirect_ok(query.get("redirect_uri", "")):
            return "AADSTS50011: The redirect URI specified in the request does not match the redirect URIs configured."
        if query.get("code_challenge_method") != "S256" or len(query.get("code_challenge", "")) != 43:
            return "PKCE with S256 is required."
        if not query.get("state"):
            return "A state is required."
        needed = SIGN_IN_SCOPES[provider]
        scopes = query.get("scope", "").split()
        if not set(needed) & set(scopes) or (provider == "microsoft" and "offline_access" not in scopes):
            return f"The scope must include {' or '.join(needed)}" + (" and offline_access" if provider == "microsoft" else "")
        if provider == "google" and query.get("access_type") != "offline":
            return "access_type=offline is needed for a refresh token."
        return None

    def redirect_ok(self, uri):
        if self.redirect_uris:
            return uri in self.redirect_uris
        parts = urllib.parse.urlsplit(uri)
        return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost") and not parts.query

    def granted(self, provider, asked):
        """The scopes a sign-in grants, as the token answer lists them: what was asked, less offline_access (the
        refresh token's, not the access token's) and what the user declined."""
        names = GOOGLE_SCOPE_NAMES if provider == "google" else {}
        return [names.get(s, s) for s in asked.split() if s != "offline_access" and s not in self.declined]

    def issue_code(self, form):
        code = "M.C" + secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = {"client_id": form["client_id"], "redirect_uri": form["redirect_uri"],
                                "challenge": form["code_challenge"], "provider": form["provider"],
                                "scopes": self.granted(form["provider"], form.get("scope", "")),
                                "account": self.account, "used": False, "family": None}
        return code

    def token_request(self, path, form):
        grant = form.get("grant_type")
        if grant == "client_credentials":
            return self.client_credentials(path, form)
        provider = "google" if path == "/google/token" else "microsoft"
        if provider == "microsoft" and path.split("/")[1] not in (self.tenant, "common", "consumers", "organizations"):
            return 404, {"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant not found."}
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client",
                         "error_description": "AADSTS7000215: Invalid client secret provided."}
        if grant == "authorization_code":
            return self.authorization_code(provider, form)
        if grant == "refresh_token":
            return self.refresh(provider, form)
        return 400, {"error": "unsupported_grant_type", "error_description": f"grant_type {grant!r}"}

    def client_credentials(self, path, form):
        if path != f"/{self.tenant}/oauth2/v2.0/token":
            return 404, {"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant not found."}
        if form.get("scope") not in (APP_ONLY_SCOPE, GRAPH_APP_ONLY_SCOPE):
            return 400, {"error": "invalid_request", "error_description": "AADSTS900144: bad grant or scope."}
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 401, {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being "
                                     "sent in the request is the client secret value, not the client secret "
                                     f"ID, for a secret added to app '{self.client_id}'.",
            }
        token = self.token
        if form.get("scope") == GRAPH_APP_ONLY_SCOPE:
            with self.lock:
                token = app_only_token(self.client_id, self.tenant, self.app_roles, self.app_token_lifetime)
                self.app_tokens[token] = {"roles": list(self.app_roles), "exp": time.time() + self.app_token_lifetime}
        return 200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}

    def authorization_code(self, provider, form):
        with self.lock:
            code = self.codes.get(form.get("code", ""))
            if code is None:
                return 400, {"error": "invalid_grant", "error_description": "AADSTS9002313: Invalid request. Malformed code."}
            if code["used"]:
                # A replayed code: refused, and what it gave is revoked.
                if code["family"]:
                    self.families[code["family"]]["revoked"] = True
                return 400, {"error": "invalid_grant",
                             "error_description": "AADSTS54005: OAuth2 Authorization code was already redeemed."}
            code["used"] = True
            if code["redirect_uri"] != form.get("redirect_uri") or code["provider"] != provider:
                return 400, {"error": "invalid_grant", "error_description": "AADSTS50148: redirect_uri mismatch."}
            if b64url(hashlib.sha256(form.get("code_verifier", "").encode()).digest()) != code["challenge"]:
                return 400, {"error": "invalid_grant",
                             "error_description": "AADSTS501481: The Code_Verifier does not match the code_challenge."}
            family = secrets.token_hex(8)
            code["family"] = family
            self.families[family] = {"account": code["account"], "revoked": False, "client_id": self.client_id,
                                     "provider": provider, "scopes": code["scopes"]}
            return 200, dict(self.tokens(family), id_token=id_token(self.client_id, code["account"]))

    def refresh(self, provider, form):
        if self.refresh_delay:
            time.sleep(self.refresh_delay)
        with self.lock:
            record = self.refresh_tokens.get(form.get("refresh_token", ""))
            if record is None or self.families[record["family"]]["provider"] != provider:
                return 400, {"error": "invalid_grant", "error_description": "AADSTS9002313: Invalid refresh token."}
            family = self.families[record["family"]]
            if family["revoked"]:
                return 400, {"error": "invalid_grant",
                             "error_description": "AADSTS70008: The refresh token has expired or is revoked due to "
                                                  "inactivity or a password change."}
            if record["used"]:
                # Reuse of a rotated refresh token: somebody holds a copy; the whole sign-in is revoked.
                family["revoked"] = True
                return 400, {"error": "invalid_grant",
                             "error_description": "AADSTS70000: The refresh token was already used; the grant is revoked."}
            record["used"] = True
            return 200, self.tokens(record["family"])

    def revoke_token(self, token):
        """Google's revocation endpoint: a refresh or access token of a Google sign-in ends that whole sign-in."""
        with self.lock:
            record = self.refresh_tokens.get(token) or self.access_tokens.get(token)
            family = self.families.get(record["family"]) if record else None
            if family is None or family["provider"] != "google" or family["revoked"]:
                return 400, {"error": "invalid_token", "error_description": "Token expired or revoked"}
            family["revoked"] = True
            return 200, {}

    def tokens(self, family):
        """Called with the lock held: a new access token and a new (rotated) refresh token of the family."""
        access, refresh = "EwA" + secrets.token_urlsafe(40), "M.R3_" + secrets.token_urlsafe(48)
        account = self.families[family]["account"]
        self.access_tokens[access] = {"account": account, "family": family}
        self.refresh_tokens[refresh] = {"family": family, "used": False}
        self.issued += [access, refresh]
        return {"token_type": "Bearer", "expires_in": 3599, "access_token": access, "refresh_token": refresh,
                "scope": " ".join(self.families[family]["scopes"])}

"""rust_mail_diagnose() on the wrong protocol, TLS faults and intercepted connections."""
import pytest

from harness.diag_servers import (SUBMISSION_HOST, LegacyStarttlsServer, issue_certificate, legacy_implicit_tls_server,
                          old_ciphers_tls_server)
from harness.diag_support import diagnose, expect, transport_for

RUN_TIMEOUT = 8
SLACK = 2


def tls_transport(server, certs, security="starttls", **fields):
    return transport_for(server, security=security, ca_file=certs.ca, **fields)


# ---------------------------------------------------------------- not SMTP

def test_web_server_on_the_port_is_not_smtp(php, http_server):
    diagnosis = diagnose(php, transport_for(http_server, timeout=3), {"timeout": RUN_TIMEOUT})
    assert diagnosis.elapsed < RUN_TIMEOUT + SLACK, diagnosis
    expect(diagnosis, "not_smtp", failed_step="greeting", advice=["port", str(http_server.port)])
    assert "http" in diagnosis.text(), diagnosis


def test_implicit_tls_against_starttls_port_is_not_smtp(php, certs, smtp_server):
    """security=tls (port 465 style) spoken to a port that greets in clear (587 style)."""
    server = smtp_server(tls="starttls")
    diagnosis = diagnose(php, tls_transport(server, certs, security="tls"), {"timeout": RUN_TIMEOUT})
    assert diagnosis.elapsed < RUN_TIMEOUT + SLACK, diagnosis
    expect(diagnosis, "not_smtp", advice=["security", "starttls"])


def test_starttls_against_implicit_tls_port_is_not_smtp_within_timeout(php, certs, smtp_server):
    """STARTTLS spoken to a 465-style port: the server waits for a TLS hello and never greets.
    The diagnosis must recognise it rather than report a bare timeout."""
    server = smtp_server(tls="implicit")
    diagnosis = diagnose(php, tls_transport(server, certs, security="starttls", timeout=3), {"timeout": RUN_TIMEOUT})
    assert diagnosis.elapsed < RUN_TIMEOUT + SLACK, diagnosis
    expect(diagnosis, "not_smtp", advice=["security", "tls"])


def test_plain_smtp_against_implicit_tls_port_is_not_smtp(php, certs, smtp_server):
    server = smtp_server(tls="implicit")
    diagnosis = diagnose(php, transport_for(server, security="none", timeout=3), {"timeout": RUN_TIMEOUT})
    assert diagnosis.elapsed < RUN_TIMEOUT + SLACK, diagnosis
    expect(diagnosis, "not_smtp", advice=["security", "tls"])


# ---------------------------------------------------------------- certificates

# cert name, host asked, banner, words the summary must use to say which fault
CERTIFICATE_FAULTS = [
    pytest.param("expired", "127.0.0.1", "mail.test.local ESMTP", ["expired"], id="expired"),
    pytest.param("selfsigned", "127.0.0.1", "mail.test.local ESMTP", [("self-signed", "self signed")],
                 id="selfsigned"),
    # A name mismatch with a greeting that does name the host: a misconfigured server, not an interception.
    pytest.param("wrongname", "localhost", "localhost ESMTP", [("localhost", "other.example")], id="wrongname"),
]


@pytest.mark.parametrize("cert, host, banner, summary_words", CERTIFICATE_FAULTS)
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_invalid_certificate(php, certs, smtp_server, cert, host, banner, summary_words, security):
    server = smtp_server(tls="implicit" if security == "tls" else "starttls", cert=cert, banner=banner)
    transport = tls_transport(server, certs, security=security, host=host, auth="login")
    diagnosis = diagnose(php, transport, {"timeout": RUN_TIMEOUT})
    expect(diagnosis, "tls_certificate_invalid", failed_step="tls", summary=summary_words,
           advice=[("ca_file", "verify_peer", "host")])
    assert server.auth_attempts == [], "credentials must not be sent over an unverified connection"


@pytest.mark.parametrize("cert, first_advice", [
    # The certificate names the host: the host is right, only the trust (ca_file) or the dates are wrong.
    ("selfsigned", "give that certificate with ca_file"),
    ("expired", "ask the server's administrator to renew it"),
    # The certificate names another host: the host setting is what to change.
    ("wrongname", "instead of '127.0.0.1'"),
])
def test_certificate_advice_starts_with_what_is_actually_wrong(php, certs, smtp_server, cert, first_advice):
    server = smtp_server(tls="starttls", cert=cert)
    diagnosis = diagnose(php, tls_transport(server, certs), {"timeout": RUN_TIMEOUT})
    advice = diagnosis.advice
    assert first_advice in advice[0], advice
    if cert != "wrongname":
        assert not any("instead of" in line for line in advice), advice


def test_certificate_names_the_wrong_host_for_name_mismatch(php, certs, smtp_server):
    """The tls step says what the certificate is valid for, so the user can pick the right host."""
    server = smtp_server(tls="starttls", cert="wrongname", banner="localhost ESMTP")
    diagnosis = diagnose(php, tls_transport(server, certs, host="localhost"), {"timeout": RUN_TIMEOUT})
    tls = diagnosis.step("tls")
    assert "other.example" in str(tls["detail"]) + str(tls["data"]), diagnosis


@pytest.mark.parametrize("security, server_class", [("starttls", LegacyStarttlsServer),
                                                   ("tls", legacy_implicit_tls_server)], ids=["starttls", "tls"])
def test_legacy_tls_only_server(php, certs, security, server_class):
    """A server that speaks nothing newer than TLS 1.1 (Debian's OpenSSL at security level 0)."""
    server = server_class(certs)
    try:
        diagnosis = diagnose(php, tls_transport(server, certs, security=security, auth="login"),
                             {"timeout": RUN_TIMEOUT})
    finally:
        server.stop()
    expect(diagnosis, "tls_version_unsupported", failed_step="tls", advice=["tls_min_version"])
    assert "tls 1.2" in diagnosis.text(), diagnosis


def test_no_common_cipher_is_a_failed_handshake(php, certs):
    server = old_ciphers_tls_server(certs)
    try:
        diagnosis = diagnose(php, tls_transport(server, certs, security="tls", auth="login"), {"timeout": RUN_TIMEOUT})
    finally:
        server.stop()
    expect(diagnosis, "tls_handshake_failed", failed_step="tls", advice=["security", str(server.port)])


def test_starttls_unavailable(php, certs, smtp_server):
    server = smtp_server(tls="none")
    diagnosis = diagnose(php, tls_transport(server, certs, auth="login"), {"timeout": RUN_TIMEOUT})
    expect(diagnosis, "starttls_unavailable", failed_step="tls", advice=["security"])
    assert diagnosis.status("ehlo") == "ok", diagnosis
    assert server.auth_attempts == []


def test_good_tls_details_are_reported(php, certs, smtp_server):
    server = smtp_server(tls="starttls")
    diagnosis = diagnose(php, tls_transport(server, certs), {"timeout": RUN_TIMEOUT})
    expect(diagnosis, "ok")
    tls = diagnosis.step("tls")
    assert tls["status"] == "ok", diagnosis
    reported = str(tls["detail"]) + str(tls["data"])
    # The test server speaks TLS 1.3, so the suite is one of the three TLS 1.3 suites (RFC 8446 appendix B.4).
    assert tls["data"]["version"] == "TLSv1.3", diagnosis
    assert tls["data"]["cipher"] in {"TLS13_AES_256_GCM_SHA384", "TLS13_AES_128_GCM_SHA256", "TLS13_CHACHA20_POLY1305_SHA256"}
    assert tls["detail"].startswith(f"TLSv1.3 {tls['data']['cipher']}, certificate valid for 127.0.0.1"), diagnosis
    assert "rust-mail test CA" in reported, "the issuer is reported\n" + str(diagnosis)
    assert "STARTTLS" in str(diagnosis.step("ehlo")["detail"]) + str(diagnosis.step("ehlo")["data"]), diagnosis


# ---------------------------------------------------------------- intercepted

OTHER_PROVIDER = "relay.other-provider.example"


def test_greeting_from_another_provider_is_intercepted(php, smtp_server, dns_server):
    """The site asks for smtp.provider.example; the hosting provider's relay answers instead."""
    server = smtp_server(banner=f"{OTHER_PROVIDER} ESMTP Postfix")
    diagnosis = diagnose(php, transport_for(server, host=SUBMISSION_HOST),
                         {"timeout": RUN_TIMEOUT, "nameserver": dns_server.address})
    expect(diagnosis, "intercepted", advice=["relay", ("hosting provider", "smtp restrictions")])
    assert diagnosis.status("greeting") == "warn", diagnosis
    assert OTHER_PROVIDER in diagnosis.summary and SUBMISSION_HOST in diagnosis.summary, diagnosis


def test_greeting_and_certificate_from_another_provider_is_intercepted(php, certs, smtp_server, dns_server):
    server = smtp_server(tls="starttls", cert="wrongname", banner=f"{OTHER_PROVIDER} ESMTP Postfix")
    transport = tls_transport(server, certs, host=SUBMISSION_HOST, auth="login")
    diagnosis = diagnose(php, transport, {"timeout": RUN_TIMEOUT, "nameserver": dns_server.address})
    expect(diagnosis, "intercepted", advice=["relay", ("hosting provider", "smtp restrictions")])
    assert diagnosis.status("greeting") == "warn", diagnosis
    assert diagnosis.status("tls") == "fail", diagnosis
    assert OTHER_PROVIDER in diagnosis.summary and "other.example" in diagnosis.summary, diagnosis
    assert server.auth_attempts == []


def test_own_provider_with_valid_certificate_is_not_intercepted(php, certs, smtp_server, dns_server):
    """A greeting naming the same provider's domain, and a valid certificate for the host: all is well."""
    server = smtp_server(tls="starttls", cert=issue_certificate(certs, "submission", SUBMISSION_HOST),
                         banner="mx07.provider.example ESMTP")
    transport = tls_transport(server, certs, host=SUBMISSION_HOST)
    diagnosis = diagnose(php, transport, {"timeout": RUN_TIMEOUT, "nameserver": dns_server.address})
    expect(diagnosis, "ok")
    assert diagnosis.status("greeting") == "ok", diagnosis

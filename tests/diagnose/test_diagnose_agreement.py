"""Regressions: where the walk, rust_mail_explain() and rust_mail_send() used to disagree (issue 8), they now give
the same cause, and the walk's steps say where it stopped."""
from harness.diag_support import FROM, TO, diagnose, expect, explain_send, transport_for
from harness.mail import CREDENTIALS, PASSWORD, USER

MESSAGE = {"from": FROM, "to": TO, "subject": "t", "text": "t"}


def send_and_explain(php, transport):
    result, exception = php.call("rust_mail_send", MESSAGE, transport)
    assert exception is None, exception
    return result["error"]["cause"], explain_send(php, result, transport)["cause"]


def test_a_refused_starttls_is_starttls_unavailable_everywhere(php, certs, smtp_server):
    server = smtp_server(tls="starttls", replies={"starttls": "454 4.7.0 TLS not available due to local problem"})
    transport = transport_for(server, ca_file=certs.ca, security="starttls", auth="none")
    diagnosis = diagnose(php, transport, {"timeout": 10})
    expect(diagnosis, "starttls_unavailable", failed_step="tls")
    assert "454 4.7.0" in diagnosis.step("tls")["detail"], diagnosis
    assert send_and_explain(php, transport) == ("starttls_unavailable", "starttls_unavailable")


def test_an_unrecognised_5xx_to_auth_is_a_refused_login_everywhere(php, certs, smtp_server):
    server = smtp_server(tls="starttls", auth=CREDENTIALS, replies={"auth": "554 5.0.0 Go away"})
    transport = transport_for(server, ca_file=certs.ca, security="starttls", auth="login")
    diagnosis = diagnose(php, transport, {"timeout": 10})
    expect(diagnosis, "auth_failed", failed_step="auth", advice=["password"])
    assert send_and_explain(php, transport) == ("auth_failed", "auth_failed")


def test_a_failed_ehlo_after_starttls_is_a_failed_step(php, certs, smtp_server):
    server = smtp_server(tls="starttls", replies={"ehlo_tls": "554 5.7.1 Access denied"})
    transport = transport_for(server, ca_file=certs.ca, security="starttls", auth="none")
    diagnosis = diagnose(php, transport, {"timeout": 10})
    assert diagnosis.status("tls") == "fail", diagnosis
    assert "554 5.7.1" in diagnosis.step("tls")["detail"], diagnosis
    assert all(diagnosis.status(name) == "skip" for name in ["auth", "envelope", "send"]), diagnosis
    assert diagnosis.cause == "unknown", diagnosis
    send_cause, explain_cause = send_and_explain(php, transport)
    assert send_cause == diagnosis.cause, send_cause


def test_with_implicit_tls_the_skipped_steps_keep_their_order(php, closed_port):
    # Nothing listens: the walk stops at tcp; diagnose() asserts the implicit-TLS step order.
    transport = {"host": "127.0.0.1", "port": closed_port, "security": "tls", "auth": "none", "timeout": 5}
    diagnosis = diagnose(php, transport, {"timeout": 5})
    expect(diagnosis, "connection_refused", failed_step="tcp")
    assert [s["name"] for s in diagnosis.steps] == ["dns", "sender_dns", "tcp", "tls", "greeting", "ehlo", "auth", "envelope", "send"]


def test_starttls_required_when_security_is_none(php, smtp_server):
    server = smtp_server(replies={"mail": "530 5.7.0 Must issue a STARTTLS command first"})
    transport = transport_for(server, security="none", auth="none")
    diagnosis = diagnose(php, transport, {"timeout": 10, "from": FROM, "to": TO})
    expect(diagnosis, "starttls_required", failed_step="envelope", advice=["starttls"])
    assert send_and_explain(php, transport) == ("starttls_required", "starttls_required")


def test_postfix_sender_ownership_is_not_a_relay_refusal(php, smtp_server):
    reply = f"553 5.7.1 <{FROM}>: Sender address rejected: not owned by user {USER}"
    server = smtp_server(replies={"mail": reply})
    transport = transport_for(server, security="none", auth="none")
    diagnosis = diagnose(php, transport, {"timeout": 10, "from": FROM, "to": TO})
    expect(diagnosis, "sender_not_allowed", failed_step="envelope", advice=["from"])
    assert send_and_explain(php, transport) == ("sender_not_allowed", "sender_not_allowed")


def test_the_walk_offers_smtputf8_for_a_non_ascii_address_like_the_send_path(php, smtp_server):
    """The walk's envelope is the send path's: MAIL FROM carries SMTPUTF8 when an address needs it and
    the server advertises it."""
    sender = "jörg@example.com"
    server = smtp_server(smtputf8=True)
    transport = transport_for(server, security="none", auth="none")
    diagnosis = diagnose(php, transport, {"timeout": 10, "from": sender, "to": TO})
    assert diagnosis.status("envelope") == "ok", diagnosis.text()
    # The server logs what it received as latin-1.
    mail = f"MAIL FROM:<{sender}> SMTPUTF8".encode().decode("latin-1")
    assert mail in server.client_lines(), server.session_log
    assert f"RCPT TO:<{TO}>" in server.client_lines(), server.session_log

"""rust_mail_diagnose() against servers that answer AUTH, MAIL, RCPT or DATA with a
given reply: the Microsoft 365 replies from the notes, word for word, and the
generic SMTP refusals. One table; each row is one real-server scenario."""
from dataclasses import dataclass, field

import pytest

from harness.diag_support import FROM, TO, diagnose, expect, transport_for
from harness.mail import CREDENTIALS, USER

M365_BANNER = "BN0PR04CA0014.outlook.office365.com Microsoft ESMTP MAIL Service ready"


@dataclass
class Scenario:
    cause: str
    failed_step: str
    advice: list                  # words the advice must name (tuples: alternatives)
    replies: dict = field(default_factory=dict)   # harness ScriptedHandler stage -> reply
    server: dict = field(default_factory=dict)    # ServerConfig overrides
    transport: dict = field(default_factory=dict) # transport overrides
    send_test: bool = False
    names: list = field(default_factory=list)     # strings the summary or advice must quote


# Client submission as to smtp.office365.com: STARTTLS, AUTH LOGIN after TLS.
SUBMISSION_SERVER = {"tls": "starttls", "auth": CREDENTIALS, "auth_require_tls": True, "banner": M365_BANNER}
SUBMISSION = {"security": "starttls", "auth": "login"}
# Direct send as to <tenant>.mail.protection.outlook.com: STARTTLS offered, no AUTH.
DIRECT_SERVER = {"tls": "starttls", "banner": M365_BANNER}
DIRECT = {"security": "starttls", "auth": "none"}


def submission(cause, failed_step, advice, replies, **more):
    return Scenario(cause, failed_step, advice, replies, dict(SUBMISSION_SERVER), dict(SUBMISSION), **more)


def direct(cause, failed_step, advice, replies, **more):
    return Scenario(cause, failed_step, advice, replies, dict(DIRECT_SERVER), dict(DIRECT), **more)


SCENARIOS = {
    # --- Microsoft 365, the replies of ../shared/notes/mail-servers.md
    "m365-5.7.139-smtp-auth-disabled": submission(
        "auth_disabled", "auth", [("xoauth2", "oauth2", "auth")],
        {"auth": "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. "
                 "Visit https://aka.ms/smtp_auth_disabled for more information. [SN4PR0501CA0056.namprd05.prod.outlook.com]"}),
    "m365-5.7.3-wrong-password": submission(
        "auth_failed", "auth", [("password", "username")],
        {"auth": "535 5.7.3 Authentication unsuccessful [BN0PR04CA0014.namprd04.prod.outlook.com]"}),
    "m365-5.7.30-basic-auth-retired": submission(
        "basic_auth_retired", "auth", [("xoauth2", "oauth2")],
        {"auth": "550 5.7.30 Basic authentication is not supported for Client Submission."}),
    "m365-5.7.57-anonymous": Scenario(
        "anonymous_rejected", "envelope", ["auth", ("username", "password")],
        {"mail": "530 5.7.57 Client not authenticated to send mail. [SN4PR0501CA0056.namprd05.prod.outlook.com]"},
        dict(SUBMISSION_SERVER), {"security": "starttls", "auth": "none"}),
    "m365-5.7.60-send-as-denied": submission(
        "sender_not_allowed", "envelope", ["from"],
        {"mail": "550 5.7.60 SMTP; Client does not have permissions to send as this sender "
                 "[SN4PR0501CA0056.namprd05.prod.outlook.com]"}),
    "m365-5.7.64-tenant-attribution": direct(
        "relay_denied", "envelope", [("auth", "connector")],
        {"rcpt": "550 5.7.64 TenantAttribution; Relay Access Denied [SN1NAM02FT012.eop-nam02.prod.protection.outlook.com]"}),
    "m365-5.7.68-direct-send-rejected": direct(
        "direct_send_rejected", "send", [("auth", "smtp.office365.com", "587")],
        {"data": "550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization from "
                 "unauthorized sources [SN1NAM02FT012.eop-nam02.prod.protection.outlook.com]"},
        send_test=True),
    "m365-5.7.54-relay-outside-accepted-domains": direct(
        "relay_denied", "envelope", ["auth"],
        {"rcpt": "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain"}),
    "m365-5.7.1-unable-to-relay": direct(
        "relay_denied", "envelope", ["auth"],
        {"rcpt": "550 5.7.1 Unable to relay for rcpt@example.com"}),
    # The daily limits say they are per day and when they reset; a full sending mailbox is no limit of sending.
    "m365-5.2.2-submission-quota": submission(
        "daily_limit_reached", "send", ["retry", ("per day", "24 hours")],
        {"data": "554 5.2.2 mailbox full; STOREDRV.Submission.Exception:SubmissionQuotaExceededException; "
                 "Failed to process message due to a permanent exception with message Cannot submit message."},
        send_test=True),
    "m365-5.2.0-submission-quota": submission(
        "daily_limit_reached", "send", ["retry", ("per day", "24 hours")],
        {"data": "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message "
                 "due to a permanent exception with message [BeginDiagnosticData]Cannot submit message."},
        send_test=True),
    "m365-5.2.2-sent-items-full": submission(
        "sender_mailbox_full", "send", ["Sent Items"],
        {"data": "554 5.2.2 mailbox full; STOREDRV.Submission.Exception:QuotaExceededException."
                 "MapiExceptionShutoffQuotaExceeded"},
        send_test=True),
    "m365-5.1.90-daily-recipient-limit": submission(
        "daily_limit_reached", "envelope", ["10,000 recipients a day", "rolling 24 hours"],
        {"rcpt": "550 5.1.90 Your message can't be sent because you've reached your daily limit for message "
                 "recipients. [SN4PR0501CA0056.namprd05.prod.outlook.com]"}),
    "m365-4.7.500-server-busy": submission(
        "throttled", "envelope", [("later", "retry")],
        {"mail": "451 4.7.500 Server busy. Please try again later from [203.0.113.5]. (AS761) "
                 "[SN4PR0501CA0056.namprd05.prod.outlook.com]"}),
    "m365-4.7.650-rate-limited": direct(
        "throttled", "envelope", [("later", "retry")],
        {"rcpt": "451 4.7.650 The mail server [203.0.113.5] has been temporarily rate limited due to IP reputation."}),
    "m365-432-4.3.2-mailbox-server-busy": submission(
        "throttled", "send", [("later", "retry")],
        {"data": "432 4.3.2 STOREDRV; mailbox server is too busy"}, send_test=True),
    "m365-5.7.705-tenant-blocked": submission(
        "unknown", "envelope", ["microsoft"],
        {"mail": "550 5.7.705 Access denied, tenant has exceeded threshold"}),
    "m365-5.7.708-ip-blocked": direct(
        "unknown", "envelope", ["microsoft"],
        {"mail": "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP."}),
    # --- generic SMTP servers, classified by code and enhanced code
    "postfix-relay-access-denied": Scenario(
        "relay_denied", "envelope", ["auth"],
        {"rcpt": "554 5.7.1 <rcpt@example.com>: Relay access denied"}, transport={"auth": "none"}),
    "generic-550-relaying-denied": Scenario(
        "relay_denied", "envelope", ["auth"],
        {"rcpt": "550 relaying denied"}, transport={"auth": "none"}),
    "postfix-unknown-recipient": Scenario(
        "recipient_rejected", "envelope", [("to", "recipient")],
        {"rcpt": "550 5.1.1 <rcpt@example.com>: Recipient address rejected: User unknown in virtual mailbox table"},
        names=[TO]),
    "generic-4xx-rate-limit": Scenario(
        "throttled", "envelope", [("later", "retry")],
        {"mail": "450 4.7.1 Error: too many messages sent, rate limit exceeded; try again later"}),
    "real-wrong-password": Scenario(
        "auth_failed", "auth", ["password"], {},
        {"tls": "starttls", "auth": {"user": USER, "password": "the-right-one"}},
        {"security": "starttls", "auth": "login"}),
    # --- AUTH that cannot even be tried
    "auth-only-after-starttls": Scenario(
        "auth_unavailable", "auth", ["security", "starttls"], {},
        {"tls": "starttls", "auth": CREDENTIALS, "auth_require_tls": True},
        {"security": "none", "auth": "login"}),
    "password-would-travel-in-clear": Scenario(
        "auth_unavailable", "auth", ["security"], {},
        {"tls": "none", "auth": CREDENTIALS},
        {"security": "none", "auth": "login"}),
    "no-common-mechanism": Scenario(
        "auth_unavailable", "auth", ["auth", "xoauth2"], {},
        {"tls": "starttls", "auth": {"user": USER, "token": "a-token"}},
        {"security": "starttls", "auth": "plain"}),
}

@pytest.mark.parametrize("name", list(SCENARIOS))
def test_reply_scenario(php, certs, smtp_server, name):
    scenario = SCENARIOS[name]
    server = smtp_server(replies=scenario.replies, **scenario.server)
    transport = transport_for(server, ca_file=certs.ca, **scenario.transport)
    options = {"timeout": 20, "from": FROM, "to": TO, "send_test": scenario.send_test}
    diagnosis = diagnose(php, transport, options)
    expect(diagnosis, scenario.cause, failed_step=scenario.failed_step, advice=scenario.advice)
    for name in scenario.names:
        assert name in diagnosis.text(), diagnosis
    # The failing step quotes the server's reply (code and enhanced code), so the user can look it up.
    for reply in scenario.replies.values():
        assert " ".join(reply.split(" ")[:2]) in diagnosis.step(scenario.failed_step)["detail"], diagnosis
    # A rejected envelope is reset, never turned into a message.
    assert server.messages == [], "nothing may be delivered in a failing scenario"
    if scenario.cause == "auth_unavailable":
        assert server.auth_attempts == [], "no login may be tried when AUTH is unusable"


def test_full_walk_ok_sends_the_test_message(php, certs, smtp_server):
    server = smtp_server(**SUBMISSION_SERVER)
    transport = transport_for(server, ca_file=certs.ca, **SUBMISSION)
    diagnosis = diagnose(php, transport, {"timeout": 20, "from": FROM, "to": TO, "send_test": True})
    expect(diagnosis, "ok")
    # With a login the From domain's records are not checked (only for direct send and relays).
    assert {s["name"]: s["status"] for s in diagnosis.steps if s["status"] != "ok"} == {"sender_dns": "skip"}, diagnosis
    assert server.auth_attempts and server.auth_attempts[-1].success, server.session_log
    [message] = server.messages
    assert message.mail_from == FROM and message.rcpt_tos == [TO]
    assert message.tls and message.auth_user == USER
    assert "Microsoft ESMTP" in diagnosis.raw["server"]["banner"], diagnosis
    assert "AUTH LOGIN" in " ".join(diagnosis.raw["server"]["capabilities"]), diagnosis


def test_envelope_without_send_test_sends_nothing(php, certs, smtp_server):
    server = smtp_server(**SUBMISSION_SERVER)
    transport = transport_for(server, ca_file=certs.ca, **SUBMISSION)
    diagnosis = diagnose(php, transport, {"timeout": 20, "from": FROM, "to": TO})
    expect(diagnosis, "ok")
    assert diagnosis.status("envelope") == "ok", diagnosis
    assert diagnosis.status("send") == "skip", diagnosis
    commands = server.commands()
    assert commands.index("MAIL") < commands.index("RCPT") < commands.index("RSET"), commands
    assert "DATA" not in commands and server.messages == []

"""rust_mail_diagnose()'s sender_dns step: for direct send and relays (auth 'none'), the From domain's SPF record
must authorise the relay and the domain must have a DMARC record. The records come from a real dnsmasq on
loopback; the relay is a loopback SMTP server reached by name."""
import pytest

from harness.diag_servers import SUBMISSION_HOST, Dnsmasq
from harness.diag_support import TO, diagnose, expect, transport_for

DOMAIN = "site.example"
FROM = f"wordpress@{DOMAIN}"
DMARC = "v=DMARC1; p=none"
M365_MX = "site-example.mail.protection.outlook.com"


@pytest.fixture
def records():
    """Starts dnsmasq with the given TXT records ({name: [text]}); the relay's name resolves to 127.0.0.1."""
    servers = []

    def start(txt, mx=None):
        server = Dnsmasq(hosts={SUBMISSION_HOST: "127.0.0.1", M365_MX: "127.0.0.1"}, mx=mx, txt=txt)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def relay(smtp_server, host=SUBMISSION_HOST, **fields):
    """A loopback SMTP server whose greeting names the host it is reached by."""
    return smtp_server(banner=f"{host} ESMTP relay", **fields)


def walk(php, dns, server, host=SUBMISSION_HOST, **options):
    return diagnose(php, transport_for(server, host=host, username=None, password=None),
                    {"timeout": 15, "from": FROM, "to": TO, "nameserver": dns.address, **options})


def test_records_that_authorise_the_relay(php, records, smtp_server):
    dns = records({DOMAIN: ["google-site-verification=abc", "v=spf1 include:provider.example -all"],
                   f"_dmarc.{DOMAIN}": [DMARC]})
    diagnosis = walk(php, dns, relay(smtp_server))
    expect(diagnosis, "ok")
    step = diagnosis.step("sender_dns")
    assert step["status"] == "ok", diagnosis
    assert step["data"]["spf"] == ["v=spf1 include:provider.example -all"], diagnosis
    assert step["data"]["problems"] == [], diagnosis
    assert "spf" not in diagnosis.text() and "dmarc" not in diagnosis.text(), diagnosis


@pytest.mark.parametrize("txt, problems, advice", [
    ({f"_dmarc.{DOMAIN}": [DMARC]}, ["no_spf"],
     [f'TXT record on {DOMAIN} with the value "v=spf1 a:{SUBMISSION_HOST} -all"']),
    ({DOMAIN: ["v=spf1 include:other.example -all"], f"_dmarc.{DOMAIN}": [DMARC]}, ["spf_misses_relay"],
     [f'"v=spf1 include:other.example a:{SUBMISSION_HOST} -all"']),
    ({DOMAIN: ["v=spf1 include:provider.example -all"]}, ["no_dmarc"],
     [f'TXT record on _dmarc.{DOMAIN} with the value "v=DMARC1; p=none; rua=mailto:postmaster@{DOMAIN}"']),
    ({DOMAIN: ["v=spf1 include:provider.example -all", "v=spf1 mx -all"], f"_dmarc.{DOMAIN}": [DMARC]},
     ["several_spf"], ["2 SPF records"]),
], ids=["missing_spf", "spf_not_authorising", "missing_dmarc", "two_spf_records"])
def test_a_record_problem_warns_and_names_the_record(php, records, smtp_server, txt, problems, advice):
    dns = records(txt)
    server = relay(smtp_server)
    diagnosis = walk(php, dns, server, send_test=True)
    # Only a warning: the relay takes the mail all the same.
    expect(diagnosis, "ok")
    step = diagnosis.step("sender_dns")
    assert step["status"] == "warn" and step["data"]["problems"] == problems, diagnosis
    assert DOMAIN in step["detail"], diagnosis
    for words in advice:
        assert any(words in a for a in diagnosis.advice), f"{words!r} not in the advice\n{diagnosis}"
    assert len(server.messages) == 1


def test_microsoft_365_direct_send_needs_its_include(php, records, smtp_server):
    """Direct send: the host is the MX of the From domain, a Microsoft 365 MX host."""
    dns = records({DOMAIN: ["v=spf1 mx -all"], f"_dmarc.{DOMAIN}": [DMARC]}, mx={DOMAIN: M365_MX})
    transport = transport_for(relay(smtp_server, M365_MX), host=None, username=None, password=None)
    diagnosis = diagnose(php, transport, {"timeout": 15, "from": FROM, "to": TO, "nameserver": dns.address,
                                          "mx_domain": DOMAIN})
    expect(diagnosis, "ok")
    step = diagnosis.step("sender_dns")
    assert step["status"] == "warn" and step["data"]["relay"] == M365_MX, diagnosis
    assert any('"v=spf1 mx include:spf.protection.outlook.com -all"' in a for a in diagnosis.advice), diagnosis


def test_a_sender_authentication_refusal_puts_the_record_first(php, records, smtp_server):
    dns = records({f"_dmarc.{DOMAIN}": [DMARC]})
    server = relay(smtp_server, replies={"mail": "550 5.7.26 This mail has been blocked because the sender is unauthenticated."})
    diagnosis = walk(php, dns, server)
    expect(diagnosis, "sender_unauthenticated", failed_step="envelope", advice=["SPF"])
    assert f'"v=spf1 a:{SUBMISSION_HOST} -all"' in diagnosis.advice[0], diagnosis


def test_not_checked_with_a_login_or_without_from(php, records, smtp_server):
    dns = records({})
    server = relay(smtp_server)
    diagnosis = diagnose(php, transport_for(server, host=SUBMISSION_HOST, username=None, password=None),
                         {"timeout": 15, "nameserver": dns.address})
    assert diagnosis.status("sender_dns") == "skip" and "from" in diagnosis.step("sender_dns")["detail"], diagnosis
    assert "spf" not in diagnosis.text(), diagnosis

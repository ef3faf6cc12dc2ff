"""rust_mail_diagnose() before SMTP: name resolution, TCP, port scans, silence.

Firewall faults are made for real with iptables inside a network namespace the
test creates; DNS is a real dnsmasq on loopback."""
from harness.diag_servers import MX_DOMAIN, MX_HOST, issue_certificate
from harness.diag_support import FROM, TO, diagnose, expect, transport_for

RUN_TIMEOUT = 6   # options.timeout: the whole run must end within it
SLACK = 2         # php start-up and teardown on top of it


class Address:
    """A host and port with no test server behind them (closed, dropped or unreachable)."""

    def __init__(self, port, host="127.0.0.1"):
        self.host = host
        self.port = port


def test_connection_refused(php, closed_port):
    closed = Address(closed_port)
    diagnosis = diagnose(php, transport_for(closed), {"timeout": RUN_TIMEOUT})
    expect(diagnosis, "connection_refused", failed_step="tcp",
           advice=[str(closed.port), "port", ("host", closed.host)])
    assert diagnosis.status("dns") == "ok", diagnosis


def test_port_blocked_by_firewall_returns_within_timeout(php, netns):
    port = 2587
    netns.drop(port)
    runner = netns.php(php)
    diagnosis = diagnose(runner, transport_for(Address(port), timeout=3), {"timeout": RUN_TIMEOUT})
    assert diagnosis.elapsed < RUN_TIMEOUT + SLACK, diagnosis
    expect(diagnosis, "port_blocked", failed_step="tcp", advice=[str(port), "port"])
    assert "firewall" in diagnosis.text(), diagnosis
    # Refused and dropped need different advice: a dropped port is not "nothing listens".
    assert "refused" not in diagnosis.summary.lower(), diagnosis


def test_scan_classifies_dropped_refused_and_open_ports(php, netns):
    """The configured port is dropped; the scan finds the one that works (an smtp-sink)."""
    dropped, refused, open_port = 2587, 2465, 2525
    netns.drop(dropped)
    netns.reject(refused)
    netns.smtp_sink(open_port)
    runner = netns.php(php)
    diagnosis = diagnose(runner, transport_for(Address(dropped), timeout=3),
                         {"timeout": RUN_TIMEOUT + 4, "scan_ports": [dropped, refused, open_port]})
    assert diagnosis.elapsed < RUN_TIMEOUT + 4 + SLACK, diagnosis
    expect(diagnosis, "port_blocked", failed_step="tcp", advice=[str(dropped)])
    assert diagnosis.port(dropped)["state"] == "timeout", diagnosis
    assert diagnosis.port(refused)["state"] == "refused", diagnosis
    assert diagnosis.port(open_port)["state"] == "open", diagnosis
    assert diagnosis.port(open_port)["service"] == "smtp", diagnosis
    # The advice points at the port that answers.
    assert str(open_port) in "\n".join(diagnosis.advice), diagnosis


def test_scan_classifies_services(php, smtp_server, closed_port):
    plain = smtp_server()
    starttls = smtp_server(tls="starttls")
    implicit = smtp_server(tls="implicit")
    closed = Address(closed_port)
    diagnosis = diagnose(php, transport_for(plain),
                         {"timeout": 20, "scan_ports": [plain.port, starttls.port, implicit.port, closed.port]})
    expect(diagnosis, "ok")
    services = {p["port"]: (p["state"], p["service"]) for p in diagnosis.ports}
    assert services == {
        plain.port: ("open", "smtp"),
        starttls.port: ("open", "smtp+starttls"),
        implicit.port: ("open", "smtps"),
        closed.port: ("refused", None),
    }, diagnosis


def test_silent_server_times_out(php, silent_server):
    diagnosis = diagnose(php, transport_for(silent_server, timeout=2), {"timeout": RUN_TIMEOUT})
    assert diagnosis.elapsed < RUN_TIMEOUT + SLACK, diagnosis
    expect(diagnosis, "timeout", failed_step="greeting", advice=[("port", "timeout", "host")])
    assert diagnosis.status("tcp") == "ok", diagnosis
    # Said once, in the order it happened: no greeting, then no answer to the EHLO sent to prompt one.
    assert diagnosis.summary.endswith("accepted the connection but stopped answering: no greeting came, and an EHLO sent to "
                            "prompt one got no answer before the timeout either."), diagnosis


def test_dns_failed_on_unknown_name(php, dns_server, smtp_server):
    server = smtp_server()
    missing = "no-such-host.test.example"
    diagnosis = diagnose(php, transport_for(server, host=missing),
                         {"timeout": RUN_TIMEOUT, "nameserver": dns_server.address})
    expect(diagnosis, "dns_failed", failed_step="dns", advice=["host"])
    assert missing in diagnosis.text(), diagnosis
    assert server.connections == 0


def test_mx_lookup_through_loopback_dns_then_direct_send(php, certs, dns_server, smtp_server):
    """The Microsoft 365 direct-send setup: host from the domain's MX, STARTTLS, no auth."""
    server = smtp_server(tls="starttls", cert=issue_certificate(certs, "mx", MX_HOST),
                         banner=f"{MX_HOST} ESMTP direct send")
    transport = transport_for(server, host=MX_DOMAIN, security="starttls", ca_file=certs.ca,
                              username=None, password=None)
    diagnosis = diagnose(php, transport, {"timeout": 20, "mx_domain": MX_DOMAIN, "nameserver": dns_server.address,
                                          "from": FROM, "to": TO})
    expect(diagnosis, "ok")
    dns = diagnosis.step("dns")
    assert dns["status"] == "ok", diagnosis
    assert MX_HOST in str(dns["detail"]) + str(dns["data"]), diagnosis
    assert "127.0.0.1" in str(dns["detail"]) + str(dns["data"]), diagnosis
    assert all(diagnosis.status(n) == "ok" for n in ("tcp", "greeting", "ehlo", "tls", "envelope")), diagnosis
    assert server.connections >= 1
    assert {"MAIL", "RCPT", "RSET"} <= set(server.commands()), server.session_log
    assert "DATA" not in server.commands(), "the envelope check must not send a message"


def test_mx_lookup_of_domain_without_mx(php, dns_server):
    diagnosis = diagnose(php, {"host": "nomx.example", "port": 25, "timeout": 3},
                         {"timeout": RUN_TIMEOUT, "mx_domain": "nomx.example", "nameserver": dns_server.address})
    expect(diagnosis, "dns_failed", failed_step="dns", advice=[("mx_domain", "host", "mx")])
    assert "nomx.example" in diagnosis.text(), diagnosis


def test_scan_ports_true_probes_the_standard_ports(php, netns):
    """`scan_ports => true` on the real port numbers, inside a namespace so nothing on the host is touched:
    smtp-sink on 25 and 587, nothing on 465, 2525 dropped by the firewall."""
    netns.smtp_sink(25)
    netns.smtp_sink(587)
    netns.drop(2525)
    runner = netns.php(php)
    diagnosis = diagnose(runner, transport_for(Address(587), timeout=3), {"timeout": 15, "scan_ports": True})
    expect(diagnosis, "ok")
    states = {p["port"]: (p["state"], p["service"]) for p in diagnosis.ports}
    assert states == {25: ("open", "smtp"), 465: ("refused", None), 587: ("open", "smtp"),
                      2525: ("timeout", None)}, diagnosis


def test_unreachable_network_is_reported_per_address(php, netns):
    """The namespace's firewall answers "network unreachable" (on its own loopback, so no packet leaves it):
    the connect fails at once with ENETUNREACH."""
    netns.unreachable(587)
    runner = netns.php(php)
    unroutable = Address(587)
    diagnosis = diagnose(runner, transport_for(unroutable, timeout=3), {"timeout": RUN_TIMEOUT})
    assert diagnosis.elapsed < 3, "an unreachable network fails at once, it does not wait for the timeout"
    expect(diagnosis, "port_blocked", failed_step="tcp", advice=["587"])
    [attempt] = diagnosis.step("tcp")["data"]["attempts"]
    assert attempt["state"] == "unreachable", diagnosis

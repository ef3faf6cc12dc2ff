"""Fixtures of the rust_mail_diagnose() scenarios; the shared ones live in tests/conftest.py."""
import pytest

from harness.diag_servers import MX_DOMAIN, MX_HOST, SUBMISSION_HOST, Dnsmasq, Nginx


@pytest.fixture
def dns_server():
    """dnsmasq that knows one MX record (tenant.example -> mx.test.example -> 127.0.0.1),
    the name of a submission host (smtp.provider.example -> 127.0.0.1), and answers
    NXDOMAIN for every other *.example name."""
    server = Dnsmasq(hosts={MX_HOST: "127.0.0.1", SUBMISSION_HOST: "127.0.0.1"}, mx={MX_DOMAIN: MX_HOST})
    yield server
    server.stop()


@pytest.fixture
def http_server():
    server = Nginx()
    yield server
    server.stop()

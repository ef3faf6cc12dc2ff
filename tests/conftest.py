"""Fixtures for the rust-mail integration tests. The machinery lives in tests/harness/."""
import pytest

from harness.diag_servers import NetNamespace
from harness.certs import CertificateSet
from harness.php import PhpRunner, extension_path
from harness.ports import closed_port as hold_closed_port
from harness.postfix import Postfix
from harness.sink import SmtpSink
from harness.smtpserver import ServerConfig, SilentServer, SmtpTestServer


def pytest_configure(config):
    # The slow tier: `pytest -m soak` runs it alone, `pytest -m "not soak"` everything else; `./build.sh test` runs both.
    config.addinivalue_line("markers", "soak: long runs (RSS loop, valgrind, load, package, rules export, Chromium)")


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    return CertificateSet(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def smtp_server(certs):
    """Factory: smtp_server(tls=..., auth=..., replies=..., ...) -> a started SmtpTestServer.

    Parameters are the fields of harness.smtpserver.ServerConfig."""
    servers = []

    def start(**options):
        server = SmtpTestServer(ServerConfig(**options), certs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def upstream():
    """The aiosmtpd server behind a `postfix` one: it records each transaction Postfix hands on."""
    server = SmtpTestServer(ServerConfig(pipelining=True)).start()
    yield server
    server.stop()


@pytest.fixture
def postfix(upstream):
    """Factory: postfix(**options) -> a started private Postfix (harness/postfix.py) relaying to `upstream`;
    every one started is stopped at teardown."""
    started = []

    def start(**options):
        server = Postfix((upstream.host, upstream.port), **options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.stop()


@pytest.fixture
def closed_port():
    """A port on 127.0.0.1 where nothing listens (connects are refused), held so for the whole test."""
    with hold_closed_port() as port:
        yield port


@pytest.fixture
def smtp_sink():
    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture
def netns():
    """A fresh network namespace with only its own loopback (harness/diag_servers.py), removed afterwards."""
    namespace = NetNamespace()
    yield namespace
    namespace.destroy()


@pytest.fixture(scope="session")
def php():
    # No skip: a missing extension must fail every test that needs it.
    return PhpRunner(extension_path())

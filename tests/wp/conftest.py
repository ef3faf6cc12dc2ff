"""Fixtures for the WordPress tests: one real stack per session (MariaDB, PHP-FPM with the extension under test,
nginx, WordPress with the plugin), reset between tests."""
import contextlib
import os

import pytest

from harness.wpstack import CaptureServer, WpStack


def _extension():
    so = os.environ.get("RUST_MAIL_SO")
    # No skip: a missing extension must fail the WordPress tests, as it fails the others.
    if not so or not os.path.isfile(so):
        raise RuntimeError(f"RUST_MAIL_SO={so!r} is not a built extension (./build.sh build)")
    return so


@pytest.fixture(scope="session")
def wp_session():
    stack = WpStack(_extension()).up()
    yield stack
    if os.environ.get("RUST_MAIL_KEEP_STACK"):
        print(f"\nkept the WordPress stack: {stack.url} in {stack.dir}")
        return
    stack.purge()


@pytest.fixture(scope="session")
def wp_network():
    """A second stack: a multisite network in subdirectories, / and /site2/ (administered by 'siteadmin')."""
    stack = WpStack(_extension(), multisite=True).up()
    stack.site_admin_password = "site2-admin-" + stack.admin_password
    stack.php(f"wp_set_password('{stack.site_admin_password}', get_user_by('login', 'siteadmin')->ID); out(true);")
    yield stack
    stack.purge()


@pytest.fixture(scope="session")
def wp_version(wp_session):
    """The site's WordPress release as a tuple, (6, 1, 9): a test of a feature core added says from which release."""
    return tuple(int(part) for part in wp_session.php("global $wp_version; out($wp_version);").split("-")[0].split("."))


def pytest_collection_modifyitems(items):
    """Each module's tests on the PHPMailer engine run after its other tests. Switching engines restarts PHP-FPM
    (seconds): this way it happens twice per module, not twice per such test."""
    module_order = {}
    for item in items:
        module_order.setdefault(item.path, len(module_order))
    items.sort(key=lambda item: (module_order[item.path], engine_of(item) == "phpmailer"))


def engine_of(item):
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("engine") if callspec else None


@contextlib.contextmanager
def without_wp_cron(site):
    """WP-Cron off for the fixtures' own page loads, then no constants. A page load spawns WP-Cron, whose drain runs
    under PHP-FPM on its own time: spawned while a fixture resets the site, it claimed the test's first message (the
    log starts again at id 1) between the test's steps."""
    site.set_constants({"DISABLE_WP_CRON": True})
    try:
        yield
    finally:
        site.clear_constants()


@pytest.fixture
def wp(wp_session, request):
    """The session's site with the plugin's default test settings, an empty log, and no constants; on the extension
    engine unless the test asks for `engine`."""
    with without_wp_cron(wp_session):
        if "engine" not in request.fixturenames:
            wp_session.use_engine("extension")
        wp_session.reset()
    yield wp_session
    wp_session.clear_constants()


@pytest.fixture(params=["extension", "phpmailer"])
def engine(request, wp):
    """Runs a test on each engine: the rust_mail extension, and PHPMailer's SMTP with PHP (PHP-FPM and the CLI)
    restarted without the extension. The next test that does not ask for an engine is back on the extension (`wp`)."""
    with without_wp_cron(wp):
        wp.use_engine(request.param)
    return request.param


@pytest.fixture
def capture(tmp_path):
    """Factory: capture(user=None, password=None, port=None, data_delay=0) -> a CaptureServer keeping every message
    it accepts."""
    servers = []

    def start(user=None, password=None, port=None, data_delay=0.0):
        server = CaptureServer(tmp_path / f"capture-{len(servers)}", user, password, port, data_delay)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()

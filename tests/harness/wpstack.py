"""Helpers for the WordPress tests: the real stack (tests/harness/wp-stack.sh), PHP run inside WordPress,
capturing SMTP servers, and a logged-in HTTP client."""
import email
import email.policy
import html
import http.cookiejar
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from harness.ports import start_on_a_port

REPO = Path(__file__).resolve().parents[2]
WP_TESTS = REPO / "tests" / "wp"
STACK_SCRIPT = REPO / "tests" / "harness" / "wp-stack.sh"
CAPTURE_SCRIPT = WP_TESTS / "capture_smtp.py"
MU_PLUGINS = WP_TESTS / "mu-plugins"
# The PHP that runs the stack (wp-stack.sh's PHP_VERSION).
PHP_BINARY = "/usr/bin/php" + os.environ.get("PHP_VERSION", "8.2")
# The plugin's admin pages.
SETTINGS = "/wp-admin/admin.php?page=rust-mail"
LOG = "/wp-admin/admin.php?page=rust-mail-log"


class CapturedMessage:
    def __init__(self, meta, raw):
        self.mail_from = meta["mail_from"]
        self.rcpt_tos = meta["rcpt_tos"]
        self.login = meta.get("login")
        self.raw = raw
        self.message = email.message_from_bytes(raw, policy=email.policy.compat32)


class CaptureServer:
    """tests/wp/capture_smtp.py in its own process; messages are read back from its directory. It listens on `port`,
    or without one on a port the kernel gives it, and says which in a file once it listens. `data_delay`: seconds it
    takes over each message before its 250."""

    def __init__(self, directory, user=None, password=None, port=None, data_delay=0.0):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        port_file = self.directory.with_name(self.directory.name + ".port")
        cmd = ["/usr/bin/python3", str(CAPTURE_SCRIPT), "--port", str(port or 0), "--port-file", str(port_file),
               "--dir", str(self.directory)]
        if user:
            cmd += ["--user", user, "--password", password]
        if data_delay:
            cmd += ["--data-delay", str(data_delay)]
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while not port_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"capture_smtp.py did not start listening (exit status {self.process.returncode})")
            time.sleep(0.05)
        self.port = int(port_file.read_text())

    def count(self):
        return len(list(self.directory.glob("*.json")))

    def messages(self):
        result = []
        for meta_file in sorted(self.directory.glob("*.json")):
            raw = meta_file.with_suffix(".eml").read_bytes()
            result.append(CapturedMessage(json.loads(meta_file.read_text()), raw))
        return result

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Browser:
    """A cookie-keeping HTTP client for wp-admin (urllib: the system Python has no requests)."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), NoRedirect()
        )

    def request(self, path, data=None, follow=True):
        url = path if path.startswith("http") else self.base_url + path
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        for _ in range(10):
            try:
                response = self.opener.open(urllib.request.Request(url, data=body), timeout=60)
                status, headers, text = response.status, response.headers, response.read().decode("utf-8", "replace")
            except urllib.error.HTTPError as error:
                status, headers, text = error.code, error.headers, error.read().decode("utf-8", "replace")
            if follow and status in (301, 302, 303) and headers.get("Location"):
                url, body = urllib.parse.urljoin(url, headers["Location"]), None
                continue
            return Page(status, url, text, headers)
        raise RuntimeError("too many redirects")

    def get(self, path, **kw):
        return self.request(path, **kw)

    def post(self, path, data, **kw):
        return self.request(path, data=data, **kw)

    def login(self, user, password):
        self.cookies.set_cookie(make_cookie("wordpress_test_cookie", "WP Cookie check", self.base_url))
        page = self.post("/wp-login.php", {"log": user, "pwd": password, "wp-submit": "Log In", "testcookie": "1"}, follow=False)
        assert page.status == 302, f"login as {user} failed: {page.status}"
        return self

    def form_fields(self, page, form_id_or_action):
        """The hidden fields (nonce, referer, action) of the form that posts the given admin-post action."""
        for form in re.findall(r"<form\b.*?</form>", page.text, re.S):
            if f'value="{form_id_or_action}"' in form or f'id="{form_id_or_action}"' in form:
                return {html.unescape(n): html.unescape(v) for n, v in re.findall(r'<input type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form)}
        raise AssertionError(f"no form for {form_id_or_action} on {page.url}")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def make_cookie(name, value, base_url):
    host = urllib.parse.urlparse(base_url).hostname
    return http.cookiejar.Cookie(0, name, value, None, False, host, False, False, "/", True, False, None, False, None, None, {})


class Page:
    def __init__(self, status, url, text, headers=None):
        self.status, self.url, self.text, self.headers = status, url, text, headers

    def __repr__(self):
        return f"<Page {self.status} {self.url}>"


class WpStack:
    """One WordPress site for the whole test session, on its own ports, database and directory."""

    def __init__(self, so_path, multisite=False):
        self.dir = Path(tempfile.mkdtemp(prefix="stack-", dir=self._parent()))
        self.smtp_port = None  # the capture server's, once up() started it
        if multisite:
            # WordPress keeps no port in a site's domain: the network gets port 80 on an address of its own.
            self.http_addr, self.http_port = f"127.{os.getpid() % 250 + 2}.{int(time.time()) % 250 + 2}.{random.randrange(2, 252)}", 80
        else:
            self.http_addr, self.http_port = "127.0.0.1", None  # nginx's, once up() started it
        self.env = dict(
            os.environ,
            STACK_DIR=str(self.dir),
            HTTP_ADDR=self.http_addr,
            SMTP_PORT="0",  # the capture server takes a port from the kernel and writes it to run/smtp.port
            DB_NAME="rmtest_" + self.dir.name.replace("-", "_"),
            RUST_MAIL_SO=so_path,
            MULTISITE="1" if multisite else "0",
        )
        self.wp = self.dir / "wordpress"
        self.mail_dir = self.dir / "mail"
        self.engine = "extension"

    def _up(self, http_port):
        self.http_port = http_port
        self.host = self.http_addr if http_port == 80 else f"{self.http_addr}:{http_port}"
        self.url = f"http://{self.host}"
        self.env["HTTP_PORT"] = str(http_port)
        subprocess.run([str(STACK_SCRIPT), "up"], env=self.env, check=True, stdout=subprocess.DEVNULL)

    @staticmethod
    def _parent():
        # Not under /tmp/pytest-*: the web server user must be able to read the site.
        parent = Path("/var/lib/rust-mail-test")
        parent.mkdir(parents=True, exist_ok=True)
        return parent

    def up(self):
        if self.http_port is None:
            # nginx must be told its port: if another process took it before nginx bound it, up again on another.
            start_on_a_port(self._up, self.http_addr)
        else:
            self._up(self.http_port)
        self.smtp_port = int((self.dir / "run" / "smtp.port").read_text())
        self.admin_password = (self.dir / "secrets" / "admin-password").read_text().strip()
        mu = self.wp / "wp-content" / "mu-plugins"
        for plugin in MU_PLUGINS.glob("*.php"):
            (mu / plugin.name).write_bytes(plugin.read_bytes())
        return self

    def use_engine(self, engine):
        """'extension', or 'phpmailer': PHP-FPM and the stack's CLI restarted without the rust_mail extension, as on a
        host that cannot load it. The database, settings, outbox and log stay as they are."""
        if engine == self.engine:
            return
        env = dict(self.env, EXTENSION="1" if engine == "extension" else "0")
        subprocess.run([str(STACK_SCRIPT), "php"], env=env, check=True, stdout=subprocess.DEVNULL)
        self.engine = engine
        loaded = self.php("out(extension_loaded('rust_mail'));")
        assert loaded == (engine == "extension"), f"PHP did not switch to the {engine} engine"

    def purge(self):
        subprocess.run([str(STACK_SCRIPT), "purge"], env=self.env, check=False, stdout=subprocess.DEVNULL)

    def php(self, code, env=None, check=True, extension=True, namespace=None):
        """Runs PHP inside the site (wp-load.php first) with the stack's PHP; returns the JSON the code printed
        with out(...) as its last line. extension=False runs it without the rust_mail extension; `namespace` runs it
        in that network namespace (the database is reached by its Unix socket)."""
        script = self.dir / f"run-{os.getpid()}-{time.time_ns()}.php"
        script.write_text(
            "<?php\n"
            # A network finds its site by host and path, which the CLI does not have.
            f"$_SERVER['HTTP_HOST'] = '{self.host}'; $_SERVER['REQUEST_URI'] = '/';\n"
            f"require '{self.wp}/wp-load.php';\n"
            "function out($value) { echo \"\\n\", wp_json_encode($value), \"\\n\"; }\n"
            + code
        )
        try:
            php = [str(self.dir / "bin" / "php")] if extension else [PHP_BINARY]
            if namespace:
                php = ["ip", "netns", "exec", namespace, *php]
            run_env = dict(os.environ, **(env or {}))
            if not extension:
                run_env["PHP_INI_SCAN_DIR"] = str(self._scan_dir_without_extension())
            run = subprocess.run(php + [str(script)], capture_output=True, text=True, env=run_env, timeout=120)
        finally:
            script.unlink()
        if check and run.returncode != 0:
            raise AssertionError(f"php failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
        lines = [line for line in run.stdout.splitlines() if line.strip()]
        return json.loads(lines[-1]) if lines else None

    def _scan_dir_without_extension(self):
        scan_dir = self.dir / "php" / "cli-conf.d-no-extension"
        if not scan_dir.exists():
            scan_dir.mkdir()
            for ini in (self.dir / "php" / "cli-conf.d").iterdir():
                text = ini.read_text()
                # Without the extension, and with the opcache of scripts compiled without it (wp-stack.sh).
                lines = [line.replace("/cli-opcache-with-extension", "/cli-opcache-without-extension")
                         for line in text.splitlines() if not (line.startswith("extension=") and "rust_mail" in line)]
                (scan_dir / ini.name).write_text("\n".join(lines) + "\n")
        return scan_dir

    def set_settings(self, password=None, oauth_client_secret=None, **values):
        """Replaces the plugin's settings (starting from defaults pointed at the stack's own SMTP server). Delivery is
        immediate unless a test asks for the outbox's queued mode: most tests check what wp_mail() itself returns.
        Secrets are stored encrypted, as the settings page stores them."""
        self.php(self.settings_code(password, oauth_client_secret, **values) + " out(true);")

    def reset(self):
        """A test's starting point, in one PHP run: the default test settings and an empty log."""
        self.php(self.settings_code() + " global $wpdb; $wpdb->query('TRUNCATE TABLE ' . RustMail_Log_Store::table());"
                 " foreach (array('rust_mail_incidents', 'rust_mail_alerts', 'rust_mail_alerts_status', 'rust_mail_hold') as $o)"
                 " { RustMail_Settings_Store::delete_plugin_option($o); } out(true);")

    def settings_code(self, password=None, oauth_client_secret=None, **values):
        """The PHP that stores set_settings()'s settings."""
        settings = {"preset": "custom", "host": "127.0.0.1", "port": self.smtp_port, "security": "none", "auth": "none",
                    "delivery": "immediate"}
        settings.update(values)
        code = f"$s = json_decode({php_string(json.dumps(settings))}, true);\n"
        for key, secret in (("password", password), ("oauth_client_secret", oauth_client_secret)):
            if secret is not None:
                code += f"$s['{key}'] = RustMail_Settings_Secrets::encrypt({php_string(secret)}, '{key}');\n"
        return code + "RustMail_Settings_Store::update_plugin_option(RustMail_Settings_Store::OPTION, $s);"

    def site_ca(self, certs):
        """The test CA next to the site, where PHP-FPM's user can read it too; its path."""
        ca_file = self.dir / "test-ca.pem"
        shutil.copy(certs.ca, ca_file)
        ca_file.chmod(0o644)
        return str(ca_file)

    def set_constants(self, constants):
        """Defines RUST_MAIL_* (or any) constants in wp-config.php through the stack's include file."""
        lines = ["<?php"] + [f"define({php_string(k)}, {php_value(v)});" for k, v in constants.items()]
        (self.dir / "wp-config-extra.php").write_text("\n".join(lines) + "\n")

    def clear_constants(self):
        (self.dir / "wp-config-extra.php").unlink(missing_ok=True)

    def send_mail(self, subject="Hello"):
        """wp_mail() once, in its own PHP process; returns its result and every wp_mail_failed message."""
        return self.php(
            "$failed = array();\n"
            "add_action('wp_mail_failed', function ($e) use (&$failed) { $failed[] = $e->get_error_message(); });\n"
            f"$result = wp_mail('someone@example.com', {php_string(subject)}, 'Body text');\n"
            "out(array('result' => $result, 'failed' => $failed));\n")

    def log_rows(self):
        return self.php("global $wpdb; out($wpdb->get_results('SELECT * FROM ' . RustMail_Log_Store::table() . ' ORDER BY id', ARRAY_A));")

    def browser(self, user="admin", password=None):
        return Browser(self.url).login(user, password or self.admin_password)


E2E = WP_TESTS / "e2e"
ARTIFACTS = REPO / "tests" / "artifacts"


def run_browser(wp, script, **env):
    """Runs tests/wp/e2e/<script> (headless Chromium through playwright-core) logged in as the site's admin; returns
    its stdout. Screenshots land in tests/artifacts/."""
    if not (E2E / "node_modules" / "playwright-core").exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=E2E, check=True,
                       env=dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1"))
    run = subprocess.run(
        ["node", script], cwd=E2E, capture_output=True, text=True, timeout=240,
        env=dict(os.environ, WP_URL=wp.url, WP_USER="admin", WP_PASS=wp.admin_password, ARTIFACTS=str(ARTIFACTS),
                 **env),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def php_string(value):
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def php_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return "array(" + ", ".join(f"{php_value(k)} => {php_value(v)}" for k, v in value.items()) + ")"
    if isinstance(value, list):
        return "array(" + ", ".join(php_value(v) for v in value) + ")"
    return php_string(str(value))

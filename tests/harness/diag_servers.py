"""Real servers and network faults for the rust_mail_diagnose() scenarios that the
shared harness does not cover: a DNS server (dnsmasq), an HTTP server (nginx) and
network namespaces whose iptables rules drop or refuse chosen ports."""
import contextlib
import itertools
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import warnings
from pathlib import Path

from harness.php import PhpRunner
from harness.ports import spawn_listening, start_on_a_port
from harness.sink import find_smtp_sink

# The direct-send setup the DNS fixture serves: tenant.example's MX is mx.test.example.
MX_DOMAIN = "tenant.example"
MX_HOST = "mx.test.example"
# A provider's submission host, resolved by the same DNS server. Not "localhost": the
# diagnosis rightly does not expect a local relay's greeting to name "localhost".
SUBMISSION_HOST = "smtp.provider.example"


def issue_certificate(certs, name, dns_name):
    """A server certificate for `dns_name` signed by the harness's test CA, stored next to
    the harness's own so that ServerConfig(cert=name) finds it."""
    cert, key = certs.dir / f"{name}.pem", certs.dir / f"{name}.key"
    if not cert.exists():
        csr = certs.dir / f"{name}.csr"
        ext = certs.dir / f"{name}.ext"
        ext.write_text(f"subjectAltName=DNS:{dns_name}\nextendedKeyUsage=serverAuth\n"
                       "basicConstraints=critical,CA:FALSE\n")
        _run("openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
             "-out", str(csr), "-subj", f"/CN={dns_name}")
        _run("openssl", "x509", "-req", "-in", str(csr), "-CA", certs.ca, "-CAkey", str(certs.dir / "ca.key"),
             "-CAcreateserial", "-days", "30", "-extfile", str(ext), "-out", str(cert))
    return name


def _run(*args):
    subprocess.run(args, check=True, capture_output=True, text=True)


class Dnsmasq:
    """dnsmasq on 127.0.0.1 answering only from its command line.

    `--local=/example/` makes it authoritative for every *.example name: unknown
    names get NXDOMAIN (not REFUSED, as dnsmasq answers without upstreams), and a
    name with only an A record gets an empty AAAA answer rather than an error."""

    def __init__(self, hosts=None, mx=None, txt=None):
        self.host = "127.0.0.1"
        args = ["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--user=root",
                f"--listen-address={self.host}", "--bind-interfaces", "--local=/example/"]
        args += [f"--host-record={name},{address}" for name, address in (hosts or {}).items()]
        args += [f"--mx-host={domain},{target},10" for domain, target in (mx or {}).items()]
        # txt: {name: [text, ...]}, one TXT record per text (without commas: dnsmasq splits on them).
        args += [f"--txt-record={name},{text}" for name, texts in (txt or {}).items() for text in texts]
        # dnsmasq serves TCP on the same port as UDP, so listening on TCP means it is ready.
        self.port, self._process = start_on_a_port(lambda port: spawn_listening(
            [*args, f"--port={port}"], self.host, port, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    @property
    def address(self):
        """The `nameserver` option value."""
        return f"{self.host}:{self.port}"

    def stop(self):
        self._process.terminate()
        self._process.wait(5)


NGINX_CONF = """
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location / {{ return 200 "a web site, not a mail server\\n"; }}
  }}
}}
"""


class Nginx:
    """A real web server on a loopback port: what a user hits with a wrong port number."""

    def __init__(self):
        self.host = "127.0.0.1"
        self._dir = tempfile.mkdtemp(prefix="diag-nginx-")
        conf = Path(self._dir) / "nginx.conf"

        def start(port):
            conf.write_text(NGINX_CONF.format(dir=self._dir, port=port))
            return spawn_listening(["nginx", "-p", self._dir, "-c", str(conf)], self.host, port,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        self.port, self._process = start_on_a_port(start, self.host)

    def stop(self):
        self._process.terminate()
        self._process.wait(5)
        shutil.rmtree(self._dir, ignore_errors=True)


class NamespacedPhp(PhpRunner):
    """PhpRunner whose php processes run inside a network namespace."""

    def __init__(self, extension_so, namespace):
        super().__init__(extension_so)
        self.namespace = namespace

    def command(self, *args):
        return ["ip", "netns", "exec", self.namespace, *super().command(*args)]


_names = itertools.count()


class NetNamespace:
    """A fresh network namespace with only its own loopback, so firewall rules set
    here touch nothing outside the test. 127.0.0.1 inside is not the host's."""

    def __init__(self):
        self.name = f"rmdiag{os.getpid()}n{next(_names)}"
        self._processes = []
        _run("ip", "netns", "add", self.name)
        try:
            self.exec("ip", "link", "set", "lo", "up")
        except Exception:
            self.destroy()
            raise

    def exec(self, *args):
        _run("ip", "netns", "exec", self.name, *args)

    def drop(self, port):
        """Outgoing SYNs to `port` vanish: a connect times out, as behind a firewall."""
        self.exec("iptables", "-A", "OUTPUT", "-p", "tcp", "--dport", str(port), "-j", "DROP")

    def reject(self, port):
        """Outgoing connects to `port` are answered with a reset: refused at once."""
        self.exec("iptables", "-A", "OUTPUT", "-p", "tcp", "--dport", str(port),
                  "-j", "REJECT", "--reject-with", "tcp-reset")

    def unreachable(self, port):
        """Outgoing connects to `port` are answered "network unreachable", as by a router without a route."""
        self.exec("iptables", "-A", "OUTPUT", "-p", "tcp", "--dport", str(port),
                  "-j", "REJECT", "--reject-with", "icmp-net-unreachable")

    def smtp_sink(self, port):
        """Postfix's smtp-sink listening on 127.0.0.1:`port` inside the namespace."""
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.name, find_smtp_sink(), "-u", "nobody", f"127.0.0.1:{port}", "100"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._processes.append(process)
        # The namespace's loopback is not reachable from here: wait from inside it.
        self.exec("/usr/bin/python3", "-c", WAIT_FOR_PORT, str(port))
        return process

    @contextlib.contextmanager
    def resolver(self, command, options="", stdout=subprocess.DEVNULL):
        """The namespace's resolver: `command` (a DNS server) run inside it on its loopback's port 53, the only port
        resolv.conf can name (free: the loopback is new). `ip netns exec` puts /etc/netns/NAME/resolv.conf in place
        of /etc/resolv.conf, so a lookup in the namespace goes to that server and never leaves it."""
        config = Path("/etc/netns") / self.name
        config.mkdir(parents=True)
        try:
            (config / "resolv.conf").write_text(f"nameserver 127.0.0.1\n{options}")
            self._processes.append(subprocess.Popen(["ip", "netns", "exec", self.name, *command],
                                                    stdout=stdout, stderr=subprocess.DEVNULL))
            self.exec("/usr/bin/python3", "-c", WAIT_FOR_PORT, "53")
            yield config
        finally:
            shutil.rmtree(config, ignore_errors=True)

    def php(self, runner):
        return NamespacedPhp(runner.extension_so, self.name)

    def destroy(self):
        for process in self._processes:
            process.terminate()
            process.wait(5)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


WAIT_FOR_PORT = """
import socket, sys, time
deadline = time.monotonic() + 10
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.05)
"""


def legacy_tls_context(certs, cert="good"):
    """A server context that speaks TLS 1.0 and 1.1 only. Debian's OpenSSL needs security
    level 0 for them; the deprecation warnings are the point of the scenario."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.load_cert_chain(*certs.pair(cert))
    return context


class LegacyStarttlsServer:
    """A minimal SMTP server on blocking sockets whose STARTTLS speaks only TLS 1.0/1.1,
    like an old Postfix or Exchange. Blocking sockets (not asyncio, as in the shared
    harness) because OpenSSL then writes its protocol_version alert before the server
    closes, as real servers do; asyncio's TLS layer just drops the connection."""

    BANNER = "220 legacy.test.local ESMTP old server"

    def __init__(self, certs):
        self.host = "127.0.0.1"
        self.context = legacy_tls_context(certs)
        self.tls_errors = []
        self._listener = socket.create_server((self.host, 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        with conn:
            conn.settimeout(30)
            lines = conn.makefile("rb")
            conn.sendall(self.BANNER.encode() + b"\r\n")
            for line in lines:
                verb = line.strip().split(b" ")[0].upper()
                if verb in (b"EHLO", b"HELO"):
                    conn.sendall(b"250-legacy.test.local\r\n250-8BITMIME\r\n250 STARTTLS\r\n")
                elif verb == b"STARTTLS":
                    conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
                    try:
                        self.context.wrap_socket(conn, server_side=True).close()
                    except (ssl.SSLError, OSError) as error:
                        self.tls_errors.append(str(error))
                    return
                elif verb == b"QUIT":
                    conn.sendall(b"221 2.0.0 Bye\r\n")
                    return
                else:
                    conn.sendall(b"502 5.5.2 Error: command not recognized\r\n")

    def stop(self):
        self._listener.close()


class OpensslTlsServer:
    """`openssl s_server`, Debian's own TLS server, on an implicit-TLS port (465 style),
    with the protocol and cipher flags of the scenario."""

    def __init__(self, certs, *flags):
        self.host = "127.0.0.1"
        cert, key = certs.pair("good")
        self.port, self._process = start_on_a_port(lambda port: spawn_listening(
            ["openssl", "s_server", "-accept", f"{self.host}:{port}", *flags, "-cert", cert, "-key", key, "-quiet"],
            self.host, port, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def stop(self):
        self._process.terminate()
        self._process.wait(5)


def legacy_implicit_tls_server(certs):
    """Speaks TLS 1.1 at most (security level 0 lets Debian's OpenSSL do so)."""
    return OpensslTlsServer(certs, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0")


def old_ciphers_tls_server(certs):
    """TLS 1.2 with only RSA key exchange and CBC suites, none of which a modern client offers."""
    return OpensslTlsServer(certs, "-tls1_2", "-cipher", "AES128-SHA:AES256-SHA")

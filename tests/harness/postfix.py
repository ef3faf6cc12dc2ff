"""A private Postfix smtpd (and, for SASL, a private Dovecot) on loopback: the real server that offers CHUNKING.

Postfix runs as its own instance (its own main.cf, master.cf and queue under a temporary directory, started with
`postfix -c DIR start`), never touching the machine's Postfix. Its smtpd hands every transaction, as it happens, to an
upstream SMTP server (`smtpd_proxy_filter`): an aiosmtpd test server when a test asserts what arrived, or smtp-sink
for a benchmark. Nothing is queued, so no delivery agent runs and no disk write sits in the way (with `queue=True`
it queues, syncs the queue file and relays from the queue instead, as a real server does). Postfix turns the
client's BDAT into DATA towards the upstream and prepends its Received: header; it passes the upstream's refusals
(MAIL, RCPT, end of data) back to the client.
"""
import shutil
import subprocess
import tempfile
from pathlib import Path

from .ports import spawn_listening, start_on_a_port

POSTFIX_SBIN = "/usr/lib/postfix/sbin"


class Dovecot:
    """Dovecot's auth service alone, for Postfix's `smtpd_sasl_type = dovecot`, on an inet listener on loopback."""

    def __init__(self, users):
        """`users`: {name: password}, both checked with PLAIN and LOGIN."""
        if not shutil.which("dovecot"):
            raise RuntimeError("dovecot not found: install the dovecot-core package")
        self.dir = Path(tempfile.mkdtemp(prefix="rust-mail-dovecot-"))
        self.dir.chmod(0o755)
        (self.dir / "users").write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in users.items()))
        self.port, self._process = start_on_a_port(self._start)

    def _start(self, port):
        (self.dir / "dovecot.conf").write_text(f"""
base_dir = {self.dir}/run
state_dir = {self.dir}/state
log_path = {self.dir}/dovecot.log
protocols =
listen = 127.0.0.1
ssl = no
auth_mechanisms = plain login
disable_plaintext_auth = no
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.dir}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}}
service auth {{
  inet_listener {{
    address = 127.0.0.1
    port = {port}
  }}
}}
""")
        return spawn_listening(["dovecot", "-F", "-c", str(self.dir / "dovecot.conf")], "127.0.0.1", port,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop(self):
        self._process.terminate()
        self._process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


# The queue manager and the delivery side, for Postfix(queue=True).
QUEUE_SERVICES = """\
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
error     unix - - n - - error
retry     unix - - n - - error
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
scache    unix - - n - 1 scache
flush     unix n - n 1000? 0 flush
"""


class Postfix:
    def __init__(self, upstream, chunking=True, certs=None, sasl=None, settings=None, queue=False, require_tls=False,
                 sender_logins=None, message_rate_limit=None, size_limit=None):
        """`upstream`: (host, port) that receives each transaction; with `queue`, Postfix queues each message
        instead (cleanup writes and syncs a queue file, as a real server does before its 250) and its own SMTP
        client relays it to `upstream` afterwards. `certs`: a CertificateSet, to offer STARTTLS
        with its 'good' certificate (Postfix then notes the TLS protocol and cipher in its Received: header).
        `sasl`: a Dovecot, to offer AUTH (only after STARTTLS when `certs` is given).
        `settings`: more main.cf lines, {name: value}.

        What a real site's server sets, each with the main.cf settings a site would use:
        `require_tls`: with `certs`, STARTTLS is mandatory (smtpd_tls_security_level = encrypt).
        `sender_logins`: {address: login}, which login owns which sender address (smtpd_sender_login_maps);
        a logged-in client may use no other MAIL FROM (reject_sender_login_mismatch).
        `message_rate_limit`: (messages, time unit), e.g. (2, "60s"): anvil's smtpd_client_message_rate_limit
        per anvil_rate_time_unit, for loopback too (no smtpd_client_event_limit_exceptions).
        `size_limit`: message_size_limit in bytes (also offered as EHLO SIZE)."""
        self.host = "127.0.0.1"
        self.dir = Path(tempfile.mkdtemp(prefix="rust-mail-postfix-"))
        # Postfix's daemons run as the postfix user and chdir into the queue directory.
        self.dir.chmod(0o755)
        self.config_dir = self.dir / "etc"
        queue_dir = self.dir / "queue"
        for sub in ("etc", "data", "queue/pid", "queue/public", "queue/private"):
            (self.dir / sub).mkdir(parents=True)
        for sub in ("data", "queue/public", "queue/private"):
            shutil.chown(self.dir / sub, user="postfix", group="postdrop" if sub == "queue/public" else None)
        main = {
            "compatibility_level": "3.6",
            "queue_directory": str(queue_dir),
            "data_directory": str(self.dir / "data"),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "postfix.test",
            "mydestination": "",
            "mynetworks": "127.0.0.0/8",
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "maillog_file": str(self.dir / "maillog"),
            "maillog_file_prefixes": str(self.dir),
            "smtpd_relay_restrictions": "permit_mynetworks, permit_sasl_authenticated, reject",
            "message_size_limit": str(64 * 1024 * 1024),
            # A benchmark opens many connections at once from one address.
            "smtpd_client_connection_count_limit": "0",
            "smtpd_client_connection_rate_limit": "0",
            "default_process_limit": "200",
        }
        if queue:
            main.update(relayhost=f"[{upstream[0]}]:{upstream[1]}", relay_domains="", smtp_tls_security_level="none",
                        smtp_destination_concurrency_limit="8", in_flow_delay="0s")
        else:
            main["smtpd_proxy_filter"] = f"{upstream[0]}:{upstream[1]}"
        if not chunking:
            main["smtpd_discard_ehlo_keywords"] = "chunking"
        if certs is not None:
            cert, key = certs.pair("good")
            main.update(smtpd_tls_security_level="encrypt" if require_tls else "may", smtpd_tls_cert_file=cert,
                        smtpd_tls_key_file=key, smtpd_tls_auth_only="yes", smtpd_tls_received_header="yes")
        elif require_tls:
            raise ValueError("require_tls needs certs")
        if sasl is not None:
            main.update(smtpd_sasl_auth_enable="yes", smtpd_sasl_type="dovecot",
                        smtpd_sasl_path=f"inet:127.0.0.1:{sasl.port}")
        if sender_logins:
            entries = ", ".join(f"{{{address} = {login}}}" for address, login in sender_logins.items())
            main.update(smtpd_sender_login_maps=f"inline:{{ {entries} }}",
                        smtpd_sender_restrictions="reject_sender_login_mismatch")
        if message_rate_limit is not None:
            messages, unit = message_rate_limit
            main.update(smtpd_client_message_rate_limit=str(messages), anvil_rate_time_unit=unit,
                        smtpd_client_event_limit_exceptions="")
        if size_limit is not None:
            main["message_size_limit"] = str(size_limit)
        main.update(settings or {})
        (self.config_dir / "main.cf").write_text("".join(f"{k} = {v}\n" for k, v in main.items()))
        self.port, _ = start_on_a_port(lambda port: self._start(port, queue), self.host)

    def _start(self, port, queue):
        """`postfix start` returns once the master listens (or failed to: then it raises)."""
        (self.config_dir / "master.cf").write_text(f"""\
{self.host}:{port} inet n - n - - smtpd
anvil     unix - - n - 1 anvil
rewrite   unix - - n - - trivial-rewrite
proxymap  unix - - n - - proxymap
tlsmgr    unix - - n 1000? 1 tlsmgr
postlog   unix-dgram n - n - 1 postlogd
""" + (QUEUE_SERVICES if queue else ""))
        self._postfix("start")

    def _postfix(self, command):
        done = subprocess.run(["postfix", "-c", str(self.config_dir), command], capture_output=True, text=True,
                              timeout=30)
        if done.returncode != 0:
            raise RuntimeError(f"postfix {command} failed: {done.stderr.strip()}\n{self.log()}")

    def log(self):
        path = self.dir / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self):
        try:
            self._postfix("stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

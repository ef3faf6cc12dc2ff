"""A small SMTP server that keeps every message it accepts, for the WordPress stack and tests.

Each accepted message is written to DIR as NNNNNN.eml (the DATA bytes exactly as received,
after dot-unstuffing) plus NNNNNN.json (envelope sender, recipients, the login used), so a
test or the demo can read back exactly what a sender put on the wire.

    /usr/bin/python3 capture_smtp.py --port 2525 --dir /tmp/mail [--user u --password p]

With --user/--password, AUTH PLAIN/LOGIN is offered (over plain text, it is a loopback test
server) and required before MAIL; a wrong password gets 535 5.7.8.
"""
import argparse
import itertools
import json
import os
import signal
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class CaptureHandler:
    def __init__(self, directory):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        existing = [int(n[:6]) for n in os.listdir(directory) if n.endswith(".eml") and n[:6].isdigit()]
        self.numbers = itertools.count(max(existing, default=0) + 1)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            number = next(self.numbers)
        base = os.path.join(self.directory, "%06d" % number)
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "login": session.auth_data.decode() if isinstance(session.auth_data, bytes) else None,
        }
        # Written last and renamed into place: a reader that sees the .json sees a complete message.
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 Ok: queued as %06d" % number


def password_checker(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login)
    return authenticate


def main():
    # Plain-text AUTH is the point of a loopback test server; silence aiosmtpd's warning about it.
    warnings.simplefilter("ignore")
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()

    smtp_options = {"server_hostname": "capture.localhost"}
    if args.user:
        smtp_options.update(
            authenticator=password_checker(args.user, args.password or ""),
            auth_required=True,
            auth_require_tls=False,
        )
    controller = Controller(CaptureHandler(args.dir), hostname=args.host, port=args.port, **smtp_options)
    controller.start()
    print("capture_smtp listening on %s:%d, writing to %s" % (args.host, args.port, args.dir), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()

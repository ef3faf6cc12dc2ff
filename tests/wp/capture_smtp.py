"""A small SMTP server that keeps every message it accepts, for the WordPress stack and tests.

Each accepted message is written to DIR as NNNNNN.eml (the DATA bytes exactly as received,
after dot-unstuffing) plus NNNNNN.json (envelope sender, recipients, the login used), so a
test or the demo can read back exactly what a sender put on the wire.

    /usr/bin/python3 capture_smtp.py --port 2525 --dir /tmp/mail [--user u --password p] [--port-file F]

With --port 0 (the default) it listens on a port the kernel gives it. Once it listens, the port is written to
--port-file if given (whole, in one rename: a reader that sees the file sees the port).

With --user/--password, AUTH PLAIN/LOGIN is offered (over plain text, it is a loopback test
server) and required before MAIL; a wrong password gets 535 5.7.8.
"""
import argparse
import asyncio
import itertools
import json
import os
import signal
import threading
import warnings

from aiosmtpd.smtp import SMTP, AuthResult


class CaptureHandler:
    def __init__(self, directory, data_delay=0.0):
        self.directory = directory
        self.data_delay = data_delay
        os.makedirs(directory, exist_ok=True)
        existing = [int(n[:6]) for n in os.listdir(directory) if n.endswith(".eml") and n[:6].isdigit()]
        self.numbers = itertools.count(max(existing, default=0) + 1)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        # A server that takes its time over each message, as a real one syncing its queue file does.
        await asyncio.sleep(self.data_delay)
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
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--dir", required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--data-delay", type=float, default=0.0)
    args = parser.parse_args()

    # enable_SMTPUTF8: as aiosmtpd's Controller sets it.
    smtp_options = {"hostname": "capture.localhost", "enable_SMTPUTF8": True}
    if args.user:
        smtp_options.update(
            authenticator=password_checker(args.user, args.password or ""),
            auth_required=True,
            auth_require_tls=False,
        )
    asyncio.run(serve(args, CaptureHandler(args.dir, args.data_delay), smtp_options))


async def serve(args, handler, smtp_options):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, **smtp_options), args.host, args.port)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(args.port_file + ".tmp", args.port_file)
    print("capture_smtp listening on %s:%d, writing to %s" % (args.host, port, args.dir), flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    main()

"""Runs one contract server of harness/api_servers.py in a process of its own, so that it can listen inside a network
namespace (`ip netns exec NS /usr/bin/python3 -m harness.serve_api API CERT KEY OPTIONS_JSON`, from tests/).

Prints the port once it listens, then takes one command a line on stdin, as JSON, and answers each with one line:
["queue", name, count, params], ["always", name, params], ["requests"] (every request it recorded: method, path,
mailbox, the decoded MIME, the answer, and the seconds since the first request), ["violations"]. Exits when stdin
closes."""
import base64
import json
import sys

from harness import api_servers

SERVERS = {"graph": api_servers.GraphServer, "gmail": api_servers.GmailServer,
           "ses": api_servers.SesServer, "mailgun": api_servers.MailgunServer}


class _Pair:
    """The one certificate the test gave, where api_servers asks a CertificateSet for it."""

    def __init__(self, cert, key):
        self._pair = (cert, key)

    def pair(self, _name):
        return self._pair


def _request(request, start):
    return {"method": request.method, "path": request.path, "mailbox": request.mailbox,
            "mime": None if request.mime is None else base64.b64encode(request.mime).decode(),
            "status": request.status, "answer": request.answer, "at": request.at - start,
            "content_type": request.headers.get("Content-Type")}


def main(api, cert, key, options_json):
    server = SERVERS[api](_Pair(cert, key), **json.loads(options_json))
    print(server.port, flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if command[0] == "queue":
            server.queue(command[1], command[2], **command[3])
            answer = True
        elif command[0] == "always":
            server.always(command[1], **command[2])
            answer = True
        elif command[0] == "requests":
            start = server.requests[0].at if server.requests else 0
            answer = [_request(request, start) for request in server.requests]
        else:
            answer = server.violations
        print(json.dumps(answer), flush=True)
    server.stop()


if __name__ == "__main__":
    main(*sys.argv[1:])

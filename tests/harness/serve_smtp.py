"""Runs one SmtpTestServer in a process of its own, so that it can listen inside a network
namespace (`ip netns exec NS /usr/bin/python3 -m harness.serve_smtp HOST CONFIG_JSON`, from tests/).

Prints the port once it listens; when stdin closes, prints what the server saw as JSON and exits."""
import json
import sys

from harness.smtpserver import ServerConfig, SmtpTestServer


def main(host, config_json):
    server = SmtpTestServer(ServerConfig(**json.loads(config_json)), host=host).start()
    print(server.port, flush=True)
    sys.stdin.read()
    seen = {"client_lines": server.client_lines(), "messages": len(server.messages),
            "auth_attempts": [attempt.mechanism for attempt in server.auth_attempts]}
    print(json.dumps(seen), flush=True)
    server.stop()


if __name__ == "__main__":
    main(*sys.argv[1:])

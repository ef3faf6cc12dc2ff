"""Helpers shared by the rust_mail_send tests: building arguments, calling, inspecting results."""
import base64
import json

SENDER = "Sender <sender@example.com>"
PASSWORD = "S3ntinel-Pa55"          # must never come back in any returned value
TOKEN = "S3ntinel-T0ken-4f9a2c"     # likewise, for XOAUTH2
USER = "alice@example.com"
CREDENTIALS = {"user": USER, "password": PASSWORD, "token": TOKEN}
REDACTED = "[redacted]"


def compose(**fields):
    """A minimal valid composed message; keyword fields override or (with None) remove keys."""
    message = {"from": SENDER, "to": "rcpt@example.com", "subject": "Hello", "text": "Hello there"}
    message.update(fields)
    return {k: v for k, v in message.items() if v is not None}


def transport_for(server, **fields):
    """Transport options for a test server: plain SMTP, short timeout; fields override."""
    transport = {"host": server.host, "port": server.port, "security": "none", "timeout": 10}
    transport.update(fields)
    return {k: v for k, v in transport.items() if v is not None}


def tls_transport(server, certs, security="starttls", **fields):
    return transport_for(server, security=security, ca_file=certs.ca, **fields)


def send(php, message, transport):
    """Calls rust_mail_send; it must return (not throw). Returns the result array."""
    result, exception = php.call("rust_mail_send", message, transport)
    assert exception is None, f"unexpected exception: {exception}"
    assert isinstance(result, dict), f"rust_mail_send returned {result!r}"
    return result


def compose_and_send(php, message, transport):
    """rust_mail_compose() then rust_mail_send() of its result as it is, in one php process."""
    code = f"""
    $composed = rust_mail_compose({php.php_literal(message)});
    harness_print([$composed, rust_mail_send($composed, {php.php_literal(transport)})]);
    """
    composed, result = php.run(code).json()
    # Text comes back from PHP as a string, other bytes as bytes.
    raw = composed["raw"]
    return {**composed, "raw": raw.encode() if isinstance(raw, str) else raw}, result


def send_sequence(php, steps):
    """rust_mail_send() for each step, (message, transport) or (message, transport, seconds to pause before it), in
    ONE php process, so the process's pool carries connections from one send to the next. Every send must
    succeed; returns the results."""
    code = f"""
    $results = [];
    foreach ({php.php_literal([list(step) for step in steps])} as $step) {{
        [$message, $transport] = $step;
        if (($step[2] ?? 0) > 0) {{ usleep((int) ($step[2] * 1000000)); }}
        $results[] = rust_mail_send($message, $transport);
    }}
    harness_print($results);
    """
    results = php.run(code).json()
    for result in results:
        assert_sent(result)
    return results


def describe(result):
    """Failure text for assertions: the error and the transcript."""
    lines = [f"{t.get('dir')}: {t.get('line')}" for t in result.get("transcript") or []]
    return f"error={result.get('error')!r} reply={result.get('reply')!r}\n" + "\n".join(lines)


def assert_sent(result):
    assert result["ok"] is True, describe(result)
    assert result["error"] is None


def assert_failed(result, kind):
    assert result["ok"] is False, describe(result)
    assert result["error"]["kind"] == kind, describe(result)
    assert isinstance(result["error"]["message"], str) and result["error"]["message"]
    # Every failure carries the diagnosis cause and advice (the classifier of src/classify.rs).
    assert isinstance(result["error"]["cause"], str) and result["error"]["cause"] not in ("", "ok"), describe(result)
    advice = result["error"]["advice"]
    assert isinstance(advice, list) and advice and all(isinstance(a, str) and a for a in advice), describe(result)
    return result["error"]


def as_map(value):
    """PHP's empty array is JSON [] even where a map is meant."""
    return {} if value == [] else value


def secret_forms(user, secret):
    """The secret as it could leak: plain, and as each SASL mechanism puts it on the wire."""
    b64 = lambda raw: base64.b64encode(raw.encode()).decode()
    return [secret, b64(secret), b64(f"\0{user}\0{secret}"), b64(f"user={user}\x01auth=Bearer {secret}\x01\x01")]


def assert_no_secret(result, user, secret):
    dumped = json.dumps(result, default=repr)
    for form in secret_forms(user, secret):
        assert form not in dumped, f"secret leaked as {form!r}"


def attachments_of(message):
    """{filename: (content type, decoded bytes)} of a parsed message's attachments."""
    return {part.get_filename(): (part.get_content_type(), part.get_payload(decode=True))
            for part in message.iter_attachments()}

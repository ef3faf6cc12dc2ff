"""SMTP servers that misbehave on purpose, on loopback: replies without end, replies of
megabytes, junk before the greeting, one byte a second, replies dripped one line at a time,
a connection closed in the middle of DATA, a TLS handshake never answered. Each connection runs
one behaviour in a thread of its own; a behaviour ends when the client goes away.

Also a DNS server that reads every query and answers none (DnsBlackHole)."""
import socket
import sys
import threading
import time

LINE = b"x" * 1000


# Seconds between two lines of a dripped reply: far under any per-read timeout, so every read succeeds.
DRIP_INTERVAL = 0.4


def _drip(conn, code, seconds=None):
    """Continuation lines of a reply with `code`, one every DRIP_INTERVAL seconds, for `seconds` (None: forever)."""
    started = time.monotonic()
    while seconds is None or time.monotonic() - started < seconds:
        conn.sendall(f"{code}-still going\r\n".encode())
        time.sleep(DRIP_INTERVAL)


def _greet(conn, seconds=0):
    """The greeting; with `seconds`, dripped (see _drip) for that long before its last line."""
    if seconds:
        _drip(conn, 220, seconds)
    conn.sendall(b"220 hostile.test ESMTP\r\n")


def _replies_in_order(conn, reader, until, greeting_seconds=0):
    """A well-behaved server up to the command `until` (its verb, upper case): greeting (see _greet),
    then 250 to every command, 354 to DATA. Returns once `until` was read."""
    _greet(conn, greeting_seconds)
    for line in reader:
        verb = line.split(b" ", 1)[0].split(b":", 1)[0].strip().upper().decode("latin-1")
        if verb == until:
            return
        conn.sendall(b"354 go ahead\r\n" if verb == "DATA" else b"250 ok\r\n")


def endless_reply(conn, reader):
    """A greeting that never ends: short continuation lines, forever."""
    while True:
        conn.sendall(b"220-still greeting you\r\n" * 100)


def endless_long_lines(conn, reader):
    """A greeting of 1,000-byte continuation lines, forever: megabytes within the line limit."""
    while True:
        conn.sendall(b"220-" + LINE + b"\r\n")


def megabyte_line(conn, reader):
    """A greeting line of 8 MiB with no end of line."""
    conn.sendall(b"220 " + b"x" * (8 * 1024 * 1024))


def megabyte_ehlo(conn, reader):
    """An EHLO reply of about 4 MiB, well-formed line by line, then a proper end."""
    _replies_in_order(conn, reader, until="EHLO")
    conn.sendall((b"250-" + LINE + b"\r\n") * 4000 + b"250 ok\r\n")
    for _ in reader:
        conn.sendall(b"250 ok\r\n")


def many_long_replies(conn, reader):
    """Every reply is 50 lines of 1,000 bytes (about 50 KiB, under the per-reply limit), and
    the session is otherwise correct: the transcript, not the reply, is what grows."""
    chatty = lambda code, last: (f"{code}-".encode() + LINE + b"\r\n") * 49 + f"{code} {last}\r\n".encode()
    conn.sendall(chatty(220, "hostile.test ESMTP"))
    for line in reader:
        verb = line.split(b" ", 1)[0].split(b":", 1)[0].strip().upper()
        if verb == b"DATA":
            conn.sendall(chatty(354, "go ahead"))
            for data_line in reader:
                if data_line == b".\r\n":
                    break
            conn.sendall(chatty(250, "queued"))
        elif verb == b"QUIT":
            conn.sendall(b"221 bye\r\n")
            return
        else:
            conn.sendall(chatty(250, "ok"))


def greeting_junk(conn, reader):
    """Binary junk before the greeting, as from a wrong service or a broken proxy."""
    conn.sendall(b"\x00\xff\x16\x03\x01junk before the greeting\r\n220 hostile.test ESMTP\r\n")
    for _ in reader:
        conn.sendall(b"250 ok\r\n")


def one_byte_a_second(conn, reader):
    """A greeting trickled out one byte a second: each read succeeds, the whole never comes."""
    for byte in b"220 hostile.test ESMTP slowly\r\n":
        conn.sendall(bytes([byte]))
        time.sleep(1)


def drip_ehlo(conn, reader):
    """Greets at once, then answers EHLO with one continuation line every DRIP_INTERVAL seconds, forever:
    each read of the client succeeds in time, and the reply never ends."""
    _greet(conn)
    reader.readline()
    _drip(conn, 250)


def starttls_then_silence(conn, reader, greeting_seconds=0):
    """STARTTLS offered and answered 220, then not one byte of TLS: the ClientHello is read and left unanswered.
    With `greeting_seconds` (functools.partial), the greeting is dripped for that long first."""
    _greet(conn, greeting_seconds)
    reader.readline()  # EHLO
    conn.sendall(b"250-hostile.test\r\n250 STARTTLS\r\n")
    reader.readline()  # STARTTLS
    conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
    _read_until_gone(reader)


def tls_record_trickled(conn, reader):
    """Answers an implicit-TLS ClientHello with the header of a 16 KiB handshake record, then trickles its body one
    byte every DRIP_INTERVAL seconds: every read of the client gets something in time, the handshake never ends."""
    reader.read1(65536)  # the ClientHello
    conn.sendall(b"\x16\x03\x03\x40\x00")
    while True:
        conn.sendall(b"\x00")
        time.sleep(DRIP_INTERVAL)


def mute(conn, reader):
    """Reads whatever comes (an implicit-TLS ClientHello) and never says a word."""
    _read_until_gone(reader)


def _read_until_gone(reader):
    """Reads (and so records) what arrives, as it arrives, until the client goes away."""
    while reader.read1(65536):
        pass


def close_in_data(conn, reader):
    """Accepts the envelope and DATA, reads one line of the message, and hangs up."""
    _replies_in_order(conn, reader, until="DATA")
    conn.sendall(b"354 go ahead\r\n")
    reader.readline()


def stall_after_data(conn, reader, greeting_seconds=0):
    """Takes the whole message and never answers the final dot: a tarpit at the moment a client commits.
    With `greeting_seconds` (functools.partial), the greeting is dripped for that long first."""
    _replies_in_order(conn, reader, until="DATA", greeting_seconds=greeting_seconds)
    conn.sendall(b"354 go ahead\r\n")
    for line in reader:
        if line == b".\r\n":
            break
    reader.read()  # until the client goes away


class _Recorder:
    """A session's reader that keeps what the client sent, as the behaviour reads it, in `received`."""

    def __init__(self, reader, received):
        self._reader = reader
        self._received = received

    def readline(self):
        line = self._reader.readline()
        if line:
            self._received.append(line)
        return line

    def __iter__(self):
        return iter(self.readline, b"")

    def read(self, size=-1):
        return self._keep(self._reader.read(size))

    def read1(self, size):
        return self._keep(self._reader.read1(size))

    def _keep(self, data):
        if data:
            self._received.append(data)
        return data


class HostileServer:
    def __init__(self, behaviour, host="127.0.0.1", port=0):
        self.behaviour = behaviour
        self.host = host
        self.connections = 0
        self.received = []  # what clients sent and a behaviour read: lines (and the rest of a session read at once)
        self._socket = socket.socket()
        # A test starts a good server on this port once this one stops: a session it closed first sits in TIME_WAIT
        # on the port, and only a listener with SO_REUSEADDR lets the next one bind past it.
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((self.host, port))
        self._socket.listen(16)
        self.port = self._socket.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        with conn, conn.makefile("rb") as reader:
            try:
                self.behaviour(conn, _Recorder(reader, self.received))
            except OSError:
                pass  # the client hung up, as it should

    def stop(self):
        # shutdown() first: a close() alone leaves the listener open while the accept thread blocks in accept(),
        # and a server started next on the same port would not get it.
        try:
            self._socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._socket.close()


def _query_name(packet):
    """The name asked for in a DNS query (RFC 1035 4.1.2), dotted; best effort."""
    labels, at = [], 12
    while at < len(packet) and packet[at] and len(labels) < 128:
        labels.append(packet[at + 1:at + 1 + packet[at]].decode("ascii", "replace"))
        at += 1 + packet[at]
    return ".".join(labels)


class DnsBlackHole:
    """A DNS server on UDP and TCP that reads every query and answers none, as an overloaded or firewalled resolver
    does. `queries` lists the names asked for; `port` is the port it got (0 asks for any)."""

    def __init__(self, host="127.0.0.1", port=0, on_query=None):
        self.host = host
        self.queries = []
        self._on_query = on_query
        for attempt in range(5):
            # One port for both: the kernel picks it for TCP; UDP takes the same number (rarely taken already).
            self._tcp = HostileServer(self._read_queries, host, port)
            self.port = self._tcp.port
            self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                self._udp.bind((host, self.port))
                break
            except OSError:
                self._tcp.stop()
                self._udp.close()
                if port or attempt == 4:
                    raise
        threading.Thread(target=self._serve_udp, daemon=True).start()

    @property
    def address(self):
        """As rust_mail_diagnose()'s `nameserver` option takes it."""
        return f"{self.host}:{self.port}"

    def _seen(self, packet):
        self.queries.append(_query_name(packet))
        if self._on_query:
            self._on_query(self.queries[-1])

    def _serve_udp(self):
        while True:
            try:
                packet, _ = self._udp.recvfrom(4096)
            except OSError:
                return
            self._seen(packet)

    def _read_queries(self, conn, reader):
        """The TCP side's behaviour: over TCP each query comes with a two-byte length before it (RFC 1035 4.2.2)."""
        while len(size := reader.read(2)) == 2:
            self._seen(reader.read(int.from_bytes(size, "big")))

    def stop(self):
        self._tcp.stop()
        # shutdown() wakes the thread blocked in recvfrom(), as for HostileServer's accept(); Linux does it for UDP
        # too, though it answers ENOTCONN.
        try:
            self._udp.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._udp.close()


if __name__ == "__main__":
    # `python3 hostile.py dns-black-hole PORT`: a DnsBlackHole on 127.0.0.1:PORT (for a network namespace, whose
    # resolv.conf can only name port 53), printing the port it got, then each name asked for, one a line.
    if sys.argv[1:2] != ["dns-black-hole"] or len(sys.argv) != 3:
        sys.exit("usage: hostile.py dns-black-hole PORT")
    black_hole = DnsBlackHole(port=int(sys.argv[2]), on_query=lambda name: print(f"query {name}", flush=True))
    print(f"port {black_hole.port}", flush=True)
    threading.Event().wait()

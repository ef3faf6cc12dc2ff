"""SMTP servers that misbehave on purpose, on loopback: replies without end, replies of
megabytes, junk before the greeting, one byte a second, a connection closed in the middle of
DATA. Each connection runs one behaviour in a thread of its own; a behaviour ends when the
client goes away."""
import socket
import threading
import time

LINE = b"x" * 1000


def _replies_in_order(conn, reader, until):
    """A well-behaved server up to the command `until` (its verb, upper case): greeting,
    then 250 to every command, 354 to DATA. Returns once `until` was read."""
    conn.sendall(b"220 hostile.test ESMTP\r\n")
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


def close_in_data(conn, reader):
    """Accepts the envelope and DATA, reads one line of the message, and hangs up."""
    _replies_in_order(conn, reader, until="DATA")
    conn.sendall(b"354 go ahead\r\n")
    reader.readline()


def stall_after_data(conn, reader):
    """Takes the whole message and never answers the final dot: a tarpit at the moment a client commits."""
    _replies_in_order(conn, reader, until="DATA")
    conn.sendall(b"354 go ahead\r\n")
    for line in reader:
        if line == b".\r\n":
            break
    reader.read()  # until the client goes away


class HostileServer:
    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.host = "127.0.0.1"
        self.connections = 0
        self._socket = socket.socket()
        # A test starts a good server on this port once this one stops: a session it closed first sits in TIME_WAIT
        # on the port, and only a listener with SO_REUSEADDR lets the next one bind past it.
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((self.host, 0))
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
                self.behaviour(conn, reader)
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

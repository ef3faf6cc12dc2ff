"""A minimal FastCGI responder client: one request per TCP connection, as a web server would send it."""
import socket
import struct

VERSION = 1
BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7
RESPONDER = 1
REQUEST_ID = 1
HEADER = struct.Struct("!BBHHBx")  # version, type, request id, content length, padding length


def _record(kind, content=b""):
    return HEADER.pack(VERSION, kind, REQUEST_ID, len(content), 0) + content


def _length(n):
    return bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)


def _params(params):
    body = b""
    for name, value in params.items():
        name, value = name.encode(), str(value).encode()
        body += _length(len(name)) + _length(len(value)) + name + value
    return body


def _read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("FastCGI server closed the connection mid-record")
        data += chunk
    return data


class FastCgiResponse:
    def __init__(self, stdout, stderr):
        head, _, self.body = stdout.partition(b"\r\n\r\n")
        self.headers = dict(line.split(": ", 1) for line in head.decode("latin-1").split("\r\n") if ": " in line)
        self.status = int(self.headers.get("Status", "200").split()[0])
        self.stderr = stderr


def _connect(address, timeout):
    """A Unix socket path, or (host, port)."""
    if isinstance(address, str):
        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
        except OSError:
            sock.close()
            raise
        return sock
    return socket.create_connection(address, timeout)


def request(address, script_filename, query="", timeout=30):
    """One request to the FastCGI server at `address` (a Unix socket path, or (host, port))."""
    params = {
        "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_METHOD": "GET",
        "SCRIPT_FILENAME": script_filename, "SCRIPT_NAME": "/" + script_filename.rsplit("/", 1)[-1],
        "QUERY_STRING": query, "REQUEST_URI": "/?" + query, "SERVER_NAME": "localhost",
        "SERVER_PORT": "80", "REMOTE_ADDR": "127.0.0.1",
    }
    stdout, stderr = b"", b""
    with _connect(address, timeout) as sock:
        sock.sendall(_record(BEGIN_REQUEST, struct.pack("!HB5x", RESPONDER, 0))
                     + _record(PARAMS, _params(params)) + _record(PARAMS) + _record(STDIN))
        while True:
            _, kind, _, length, padding = HEADER.unpack(_read_exact(sock, HEADER.size))
            content = _read_exact(sock, length + padding)[:length]
            if kind == STDOUT:
                stdout += content
            elif kind == STDERR:
                stderr += content
            elif kind == END_REQUEST:
                return FastCgiResponse(stdout, stderr)

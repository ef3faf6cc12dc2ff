"""A web service's stand-in for a test: an HTTP server on 127.0.0.1 (a port the kernel gives), in a thread, over
HTTPS when given a certificate. The test brings the handler, which says what the service answers."""
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    """A handler that writes no access log to the test's output."""

    def log_message(self, *args):
        pass


class LoopbackHTTPServer:
    """Serves `handler` (a BaseHTTPRequestHandler class) until stop(); with `tls` (certificate file, key file) over
    HTTPS. `url` is its base URL, without a trailing slash."""

    def __init__(self, handler, tls=None):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

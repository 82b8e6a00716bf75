"""httpmock: the local HTTP servers black-box tests write their mocks on
(28-http-client's origin servers, 34-login's providers): Python's
http.server, one thread a connection, HTTP/1.1 keep-alive, silent, and
optionally over TLS.

    class Handler(httpmock.Handler):
        def do_GET(self):
            self.answer(200, {"ok": True})      # JSON
    srv = httpmock.serve(Handler)               # started on a free loopback port
    url = "http://127.0.0.1:%d/" % srv.server_address[1]
"""

import http.server
import json
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, ctype=None, headers=()):
        """One whole answer with a Content-Length: body is bytes, text
        (text/plain unless ctype says otherwise) or anything else as JSON."""
        if not isinstance(body, (bytes, str)):
            body, ctype = json.dumps(body), ctype or "application/json"
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype or "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def serve(handler, context=None):
    """A Server for handler on 127.0.0.1 and a free port, serving from a
    daemon thread; context: an ssl.SSLContext to speak TLS with."""
    srv = Server(("127.0.0.1", 0), handler)
    if context:
        srv.socket = context.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv

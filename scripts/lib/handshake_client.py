#!/usr/bin/env python3
"""handshake_client.py PORT N: N full TLS handshakes with 127.0.0.1:PORT, one
after the other, each on a fresh connection with no session to resume, as
`openssl s_time -new -www /` makes them: "GET / HTTP/1.0", the answer read to
the server's close. For scripts/bench's tls-instructions scenario. Exit 0, or
1 when an answer is missing."""
import socket
import ssl
import sys


def main(port, n):
    for _ in range(n):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=60))
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        buf = b""
        while True:
            try:
                data = s.recv(65536)
            except ssl.SSLError:
                break
            if not data:
                break
            buf += data
        s.close()
        if b"Hello, world" not in buf:
            sys.stderr.write("handshake_client: no answer\n")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))

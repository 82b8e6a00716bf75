#!/usr/bin/env python3
"""keepalive_client.py PORT N: send N GET / requests, one after the other, on
one keep-alive connection to 127.0.0.1:PORT, and read each answer (it must
hold "Hello, world") before sending the next. For scripts/bench's
instructions scenario: a fixed number of requests, so that a server's
instructions can be divided by it. Exit 0, or 1 when an answer is missing."""
import socket
import sys


def main(port, n):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    req = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    buf = b""
    for _ in range(n):
        s.sendall(req)
        while b"Hello, world" not in buf:
            data = s.recv(65536)
            if not data:
                sys.stderr.write("keepalive_client: the server closed the connection\n")
                return 1
            buf += data
        buf = buf[buf.index(b"Hello, world") + 12:]
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))

"""tornado_chat.py - a minimal Tornado WebSocket chat, for scripts/bench's ws scenario.

    python3 tornado_chat.py PORT [ADDRESS]

The protocol of gale's chat module (modules/chat): a client sends a text frame
{"body": "...", "name": "..."}; the server sends every open socket, the sender
too, the text frame {"messages": [{"id": ..., "from": ..., "body": ..., "time": ...}]}.

It is Tornado's own demo (demos/websocket/chatdemo.py) cut down to that: one
process, a class-level set of open sockets, and a loop over it calling
write_message on each. Unlike the demo, the message is encoded to JSON once, not
once per socket (write_message(dict) encodes each time), which is what a
careful Tornado program does and what gale's module does. One process is the
faithful setup: Tornado processes made with fork_processes share no state, so
a chat room of several processes needs a broker that the demo does not have.

GET / and GET /bench-hello answer "Hello, world" so the bench can tell when the server is up.
"""

import asyncio
import json
import sys
import time
import uuid

import tornado.web
import tornado.websocket


class Hello(tornado.web.RequestHandler):
    def get(self):
        self.set_header("Content-Type", "text/plain")
        self.write("Hello, world")


class ChatSocket(tornado.websocket.WebSocketHandler):
    waiters = set()

    def open(self):
        ChatSocket.waiters.add(self)

    def on_close(self):
        ChatSocket.waiters.discard(self)

    def on_message(self, message):
        try:
            parsed = json.loads(message)
            body = str(parsed.get("body", ""))
            name = str(parsed.get("name", "") or "anonymous")
        except (ValueError, AttributeError):
            return
        msg = {"id": str(uuid.uuid4()), "from": name, "body": body, "time": time.time()}
        ChatSocket.send_updates(json.dumps({"messages": [msg]}))

    @classmethod
    def send_updates(cls, text):
        for waiter in list(cls.waiters):
            try:
                waiter.write_message(text)
            except tornado.websocket.WebSocketClosedError:
                cls.waiters.discard(waiter)


async def main(port, address="127.0.0.1"):
    app = tornado.web.Application(
        [(r"/", Hello), (r"/bench-hello", Hello), (r"/chatsocket", ChatSocket)],
        # No access log, as for the other servers; no pings, no compression (the defaults,
        # said here because gale's side is configured the same way).
        log_function=lambda handler: None,
        websocket_ping_interval=None,
    )
    app.listen(port, address=address, backlog=4096)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), *sys.argv[2:]))

#!/usr/bin/env python3
"""A local HTTP service for tests/http_e2e_test.cc: what an id's prefix asks for.

usage: http_test_server.py DIR [--tls CERT KEY]

Listens on 127.0.0.1, on a port the kernel picks, and writes it to DIR/port
once it accepts connections. Every request's id goes to DIR/requests.log as
"<id> <unix time>" (before it is answered). GET /items/<id> answers:

  e-*   500 "boom <id>" (200 once /_heal was called)
  r-*   the first time: 429 with Retry-After: 1; then 200
  c-*   the first time: the connection is closed without an answer; then 200
  s-*   200 after 3 seconds
  b-*   200 with 100 KiB of body
  t-*   200 with a body that is not JSON: "hello <id>"
  h-*   held until /_release; DIR/held holds how many are held right now
  else  200 {"id": "<id>", "n": <length of id>}

POST /items/<id> appends {"id", "content_type", "body"} as one JSON line to
DIR/bodies.log and answers 200 {"ok": true}.

With --tls it speaks HTTPS with that certificate and key (PEM files).
It exits by itself after 300 seconds, so that a dead test leaves nothing behind.
"""

import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

DIR = sys.argv[1]
lock = threading.Lock()
seen = {}
healed = False
held = 0
release = threading.Event()
log = open(os.path.join(DIR, "requests.log"), "a", buffering=1)


def write_atomic(name, text):
    tmp = os.path.join(DIR, "." + name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, os.path.join(DIR, name))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # else a two-piece answer waits ~40 ms for an ACK

    def log_message(self, *args):
        pass

    def answer(self, status, body, content_type="application/json", extra=()):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        global healed, held
        if self.path == "/_heal":
            healed = True
            return self.answer(200, "{}")
        if self.path == "/_release":
            release.set()
            return self.answer(200, "{}")
        if not self.path.startswith("/items/"):
            return self.answer(404, "no such path")
        item = unquote(self.path[len("/items/"):])
        with lock:
            n = seen.get(item, 0)
            seen[item] = n + 1
            log.write(f"{item} {time.time():.3f}\n")
        if item.startswith("e-") and not healed:
            return self.answer(500, "boom " + item, "text/plain")
        if item.startswith("r-") and n == 0:
            return self.answer(429, "slow down", "text/plain", [("Retry-After", "1")])
        if item.startswith("c-") and n == 0:
            self.close_connection = True
            return
        if item.startswith("s-"):
            time.sleep(3)
        if item.startswith("b-"):
            return self.answer(200, "x" * 100 * 1024, "text/plain")
        if item.startswith("t-"):
            return self.answer(200, "hello " + item, "text/plain")
        if item.startswith("h-"):
            with lock:
                held += 1
                write_atomic("held", str(held))
            release.wait(120)
            with lock:
                held -= 1
                write_atomic("held", str(held))
        self.answer(200, json.dumps({"id": item, "n": len(item)}))


    def do_POST(self):
        item = unquote(self.path[len("/items/"):])
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        entry = {"id": item, "content_type": self.headers.get("Content-Type", ""),
                 "body": body.decode("utf-8", "backslashreplace")}
        with lock:
            log.write(f"{item} {time.time():.3f}\n")
            with open(os.path.join(DIR, "bodies.log"), "a") as f:
                f.write(json.dumps(entry) + "\n")
        self.answer(200, json.dumps({"ok": True}))


class Server(ThreadingHTTPServer):
    request_queue_size = 256  # 64 calls connecting at once must not overflow the backlog


server = Server(("127.0.0.1", 0), Handler)
server.daemon_threads = True
if len(sys.argv) == 5 and sys.argv[2] == "--tls":
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[3], sys.argv[4])
    # The handshake happens in each connection's own thread (on its first
    # read), so that a client refusing the certificate stalls no one else.
    server.socket = context.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
threading.Timer(300, lambda: os._exit(0)).start()
write_atomic("port", str(server.server_address[1]))
server.serve_forever()

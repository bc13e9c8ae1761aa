#!/usr/bin/env python3
"""A local stand-in for a customer REST service, for examples/api-calls.

usage: fake_api.py [--port N] [--port-file FILE] [--fail-file FILE]
                   [--request-log FILE] [--lifetime SECONDS]

Listens on 127.0.0.1, on --port or (0, the default) a port the kernel picks,
and writes that port to --port-file once it accepts connections. Serves

  GET /customers/<id>          200 {"id":"<id>","name":"Customer <id>","orders":<n>}
                               or 500 while <id> is listed in --fail-file
  GET /control/stop-failing    200: from now on no id fails

and appends each customer id it is asked for to --request-log, one per line.
It exits by itself after --lifetime seconds (default 300), so that a test that
dies cannot leave it running for long.

examples/api-calls/run.sh starts it on a free port and runs the example
against it. To try the settings files by hand, as shipped (they expect
127.0.0.1:8080):
  python3 examples/api-calls/fake_api.py --port 8080 --lifetime 3600 &
"""

import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote


def orders_of(customer_id):
    return sum(customer_id.encode("utf-8")) % 97


class State:
    def __init__(self, failing, request_log):
        self.lock = threading.Lock()
        self.failing = failing
        self.request_log = request_log


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the http handler reuses its connections
    # An answer goes out as two writes (headers, body): without this the
    # second waits for the client's delayed ACK, ~40 ms per call.
    disable_nagle_algorithm = True

    def do_GET(self):
        state = self.server.state
        path = self.path.split("?", 1)[0]
        if path == "/control/stop-failing":
            with state.lock:
                state.failing = set()
            return self.answer(200, {"failing": 0})
        prefix = "/customers/"
        if not path.startswith(prefix) or len(path) == len(prefix):
            return self.answer(404, {"error": "no such resource"})
        customer_id = unquote(path[len(prefix):])
        with state.lock:
            state.request_log.write(customer_id + "\n")
            state.request_log.flush()
            failing = customer_id in state.failing
        if failing:
            return self.answer(500, {"error": "internal error for " + customer_id})
        return self.answer(200, {"id": customer_id, "name": "Customer " + customer_id,
                                 "orders": orders_of(customer_id)})

    def answer(self, status, body):
        data = json.dumps(body, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass  # quiet: the request log is the record


class Server(ThreadingHTTPServer):
    # The http handler opens its connections at once (2 workers x 32 calls):
    # with the default backlog of 5 the rest wait for SYN retransmits, 1 s,
    # 3 s, 7 s later.
    request_queue_size = 256


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--fail-file")
    parser.add_argument("--request-log", default=os.devnull)
    parser.add_argument("--lifetime", type=float, default=300)
    args = parser.parse_args()

    failing = set()
    if args.fail_file:
        with open(args.fail_file, encoding="utf-8") as f:
            failing = {line.strip() for line in f if line.strip()}
    request_log = open(args.request_log, "a", encoding="utf-8")
    server = Server(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.state = State(failing, request_log)

    timer = threading.Timer(args.lifetime, lambda: os._exit(3))
    timer.daemon = True
    timer.start()

    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(str(server.server_address[1]) + "\n")
        os.replace(tmp, args.port_file)  # appears whole, after the socket listens
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

"""A remote-write receiver that accepts at most RATE samples per second, for the load generator's
capacity test: each request is held until the samples before it have been paid for, then answered
204. It counts a request's samples by walking the WriteRequest's top-level TimeSeries fields (the
load generator sends one sample per TimeSeries, as Prometheus does).
Usage: throttled_receiver.py PORT RATE"""
import http.server
import sys
import threading
import time

import snappy

PORT, RATE = int(sys.argv[1]), float(sys.argv[2])
lock = threading.Lock()
next_free = [0.0]


def varint(b, i):
    shift = value = 0
    while True:
        c = b[i]
        i += 1
        value |= (c & 0x7F) << shift
        if c < 0x80:
            return value, i
        shift += 7


def timeseries(raw):
    n = i = 0
    while i < len(raw):
        tag, i = varint(raw, i)
        length, i = varint(raw, i)  # every WriteRequest field is length-delimited
        i += length
        n += tag == 0x0A
    return n


class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        samples = timeseries(snappy.uncompress(body))
        with lock:
            now = time.monotonic()
            at = max(now, next_free[0])
            next_free[0] = at + samples / RATE
        if at > now:
            time.sleep(at - now)
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Receiver).serve_forever()

"""An HTTP gate in front of a real S3 server (moto) for fault tests.

    s3_gate.py PORT UPSTREAM_PORT PATTERN

Forwards every request to 127.0.0.1:UPSTREAM_PORT unchanged until one whose request target
matches the regular expression PATTERN arrives. From then on it holds that request and every
later one without answering (an S3 server that has stopped mid-upload) and prints
"held <method> <target>" for each. SIGUSR1 opens the gate again: held requests are dropped
(their clients are gone by then) and new ones are forwarded. A test can then stop a client
at a known point of a multipart upload, however slow or fast the machine is.
"""
import http.client
import http.server
import re
import signal
import sys
import threading

port, upstream, pattern = int(sys.argv[1]), int(sys.argv[2]), re.compile(sys.argv[3])
closed = threading.Event()
opened = threading.Event()
matched = False
lock = threading.Lock()


def open_gate(*_):
    closed.clear()
    opened.set()


signal.signal(signal.SIGUSR1, open_gate)


class Gate(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self):
        global matched
        with lock:
            if not matched and pattern.search(self.path):
                matched = True
                closed.set()
            hold = closed.is_set()
        if hold:
            print("held", self.command, self.path, flush=True)
            opened.wait()
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        conn.request(self.command, self.path, body=body, headers=headers)
        reply = conn.getresponse()
        data = reply.read()
        self.send_response_only(reply.status, reply.reason)
        for k, v in reply.getheaders():
            if k.lower() in ("transfer-encoding", "connection", "content-length"):
                continue
            self.send_header(k, v)
        # A HEAD reply carries the object's length without the object.
        length = reply.getheader("Content-Length") if self.command == "HEAD" else str(len(data))
        self.send_header("Content-Length", length or "0")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Gate)
server.daemon_threads = True
print("gate listening on", port, flush=True)
server.serve_forever()

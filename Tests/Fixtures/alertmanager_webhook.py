"""An Alertmanager webhook receiver for tests: every POST body is appended as one line to the
file given, so a test can read what Alertmanager delivered. Usage: alertmanager_webhook.py PORT FILE"""
import http.server
import sys

PORT, OUT = int(sys.argv[1]), sys.argv[2]


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(OUT, "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200)
        self.end_headers()

    def do_GET(self):
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Hook).serve_forever()

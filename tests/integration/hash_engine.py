#!/usr/bin/env python3
"""hash_engine.py MODEL_PATH PORT: a stand-in inference engine for tests. It reads the model
it is handed (a /proc/self/fd path under arca-runtime) and answers every HTTP request with
the SHA-256 of the bytes it read, so a test can compare it with the plaintext's."""
import hashlib
import http.server
import sys

h = hashlib.sha256()
with open(sys.argv[1], "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
        h.update(block)
answer = h.hexdigest().encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = answer

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler).serve_forever()

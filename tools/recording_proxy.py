#!/usr/bin/env python3
"""A loopback recording proxy for the end-to-end test: forwards every request to the local AWS
and appends what was asked and answered to a JSON-lines log, so a test can read the very
requests a command sent (the emulator merges an `UpdateUserPool` where AWS resets what it
leaves out, so what the pool reads back after it cannot show what was sent).

    python tools/recording_proxy.py --target http://127.0.0.1:4599 --log requests.jsonl

Prints the port it listens on (127.0.0.1) as its first line, then serves until killed.
"""

import argparse
import json
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", required=True, help="the local AWS's endpoint (loopback)")
    parser.add_argument("--log", required=True, help="JSON lines: target, request body, status, response body")
    args = parser.parse_args()
    if not args.target.startswith("http://127.0.0.1:"):
        parser.error("--target must be on 127.0.0.1")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            request = urllib.request.Request(args.target + self.path, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    status, answered = answer.status, answer.read()
                    content_type = answer.headers.get("Content-Type", "application/json")
            except urllib.error.HTTPError as e:
                status, answered = e.code, e.read()
                content_type = e.headers.get("Content-Type", "application/json")
            with open(args.log, "a") as log:
                log.write(json.dumps({"target": self.headers.get("X-Amz-Target", ""),
                                      "request": body.decode("utf-8", "replace"), "status": status,
                                      "response": answered.decode("utf-8", "replace")}) + "\n")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(answered)))
            self.end_headers()
            self.wfile.write(answered)

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

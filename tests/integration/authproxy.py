# SPDX-License-Identifier: Apache-2.0
"""A registry front for tests: authentication and corruption in front of a real registry.

It serves the distribution API on 127.0.0.1 and forwards to an upstream registry (Debian's
docker-registry) once a client has authenticated the way real registries ask:
  mode "token": 401 with `WWW-Authenticate: Bearer realm=...,service=...,scope=...`; the
                realm hands out tokens for HTTP basic credentials (user/password);
  mode "basic": 401 with `WWW-Authenticate: Basic realm=...`;
  mode "open":  no authentication.
With corrupt_repo set, blobs of that repository come back with one byte changed.
"""
import base64
import http.server
import json
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request

RELAYED = ("Content-Type", "Docker-Content-Digest", "Docker-Distribution-Api-Version",
           "Location")


class AuthProxy:
    def __init__(self, upstream, mode="token", user="crib", password="s3cret",
                 corrupt_repo=None):
        self.upstream = upstream.rstrip("/")
        self.mode = mode
        self.user, self.password = user, password
        self.corrupt_repo = corrupt_repo
        self.tokens = set()
        self.token_requests = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                proxy.handle(self, "GET")

            def do_HEAD(self):
                proxy.handle(self, "HEAD")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.host = self.url[len("http://"):]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _basic_ok(self, header):
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, pw = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.user and pw == self.password

    def _error(self, h, code, message, challenge=None):
        body = json.dumps({"errors": [{"code": "UNAUTHORIZED" if code == 401 else "DENIED",
                                       "message": message}]}).encode()
        h.send_response(code)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        if challenge:
            h.send_header("WWW-Authenticate", challenge)
        h.end_headers()
        h.wfile.write(body)

    def handle(self, h, method):
        url = urllib.parse.urlparse(h.path)
        if url.path == "/token":
            return self._token(h, urllib.parse.parse_qs(url.query))
        auth = h.headers.get("Authorization", "")
        repo = url.path[len("/v2/"):].split("/manifests/")[0].split("/blobs/")[0]
        if self.mode == "token" and not (auth.startswith("Bearer ") and auth[7:] in self.tokens):
            return self._error(h, 401, "authentication required for " + repo,
                               f'Bearer realm="{self.url}/token",service="crib-test",'
                               f'scope="repository:{repo}:pull"')
        if self.mode == "basic" and not self._basic_ok(auth):
            return self._error(h, 401, "basic authentication required",
                               'Basic realm="crib-test"')
        self._forward(h, method, url, repo)

    def _token(self, h, query):
        self.token_requests += 1
        if not self._basic_ok(h.headers.get("Authorization")):
            return self._error(h, 401, "invalid username or password for crib-test")
        token = "t-" + secrets.token_hex(8)
        self.tokens.add(token)
        body = json.dumps({"token": token, "expires_in": 300}).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _forward(self, h, method, url, repo):
        req = urllib.request.Request(self.upstream + h.path, method=method,
                                     headers={"Accept": h.headers.get("Accept", "*/*")})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, headers, body = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, headers, body = e.code, e.headers, e.read()
        if (self.corrupt_repo == repo and "/blobs/" in url.path and status == 200 and body):
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        h.send_response(status)
        for k in RELAYED:
            if headers.get(k):
                h.send_header(k, headers[k])
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if method != "HEAD":
            h.wfile.write(body)

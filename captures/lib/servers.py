#!/usr/bin/env python3
"""Test servers for captures/record.sh, run inside the `pws` ("Internet") namespace.

One process, one thread per listening port, all dual-stack ([::], IPv4-mapped too):
  http  PORT            plain HTTP/1.1: any path -> 1x1 GIF (or a tiny HTML page for "/")
  https PORT            same over TLS (self-signed cert made by record.sh)
  imaps PORT            TLS + minimal IMAP4rev1 dialogue (greeting, CAPABILITY, LOGOUT)
  smtps PORT            TLS + minimal SMTP dialogue (220 greeting, EHLO, QUIT)
Usage: servers.py CERT KEY kind:port [kind:port ...]
Never reachable from outside the namespace; no file is served from disk.
"""
import base64
import http.server
import socket
import socketserver
import ssl
import sys
import threading

GIF = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
HTML = b"<!doctype html><title>test</title><p>pixelwatch test server</p>\n"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pwtest/1"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet
        pass

    def _reply(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(min(n, 1 << 20))
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            body, ctype = HTML, "text/html; charset=utf-8"
        else:
            body, ctype = GIF, "image/gif"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_HEAD = _reply


class HTTPServer6(socketserver.ThreadingMixIn, http.server.HTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


class LineHandler(socketserver.StreamRequestHandler):
    """Minimal IMAP / SMTP dialogue, enough for a client to log out cleanly."""

    def handle(self):
        kind = self.server.kind
        w = self.wfile
        w.write(b"* OK [CAPABILITY IMAP4rev1] ready\r\n" if kind == "imaps" else b"220 smtp.test ESMTP ready\r\n")
        for _ in range(20):
            line = self.rfile.readline(4096)
            if not line:
                return
            words = line.strip().split()
            if kind == "imaps":
                tag = words[0] if words else b"*"
                cmd = words[1].upper() if len(words) > 1 else b""
                if cmd == b"CAPABILITY":
                    w.write(b"* CAPABILITY IMAP4rev1\r\n")
                if cmd == b"LOGOUT":
                    w.write(b"* BYE logging out\r\n" + tag + b" OK LOGOUT completed\r\n")
                    return
                w.write(tag + b" OK done\r\n")
            else:
                cmd = words[0].upper() if words else b""
                if cmd == b"QUIT":
                    w.write(b"221 bye\r\n")
                    return
                w.write(b"250 ok\r\n")


class LineServer6(socketserver.ThreadingMixIn, socketserver.TCPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def main():
    cert, key, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    threads = []
    for spec in specs:
        kind, port = spec.split(":")
        port = int(port)
        if kind in ("http", "https"):
            srv = HTTPServer6(("::", port), Handler)
        else:
            srv = LineServer6(("::", port), LineHandler)
            srv.kind = kind
        if kind != "http":
            srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()
        threads.append(t)
    print("servers ready", flush=True)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()

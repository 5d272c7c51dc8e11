#!/usr/bin/env python3
"""Test servers for captures/record.sh, run inside the `pws` ("Internet") namespace.

One process, one thread per listening port, all dual-stack ([::], IPv4-mapped too):
  http  PORT            plain HTTP/1.1: any path -> 1x1 GIF (or a tiny HTML page for "/")
  https PORT            same over TLS (self-signed cert made by record.sh)
  imaps PORT            TLS + minimal IMAP4rev1 dialogue (greeting, CAPABILITY, LOGOUT)
  smtps PORT            TLS + minimal SMTP dialogue (220 greeting, EHLO, QUIT)
  imaps-session PORT    TLS + a mail client's long IMAP session (LOGIN, SELECT, UID FETCH,
                        UID STORE, IDLE ... DONE, NOOP, LOGOUT; no line limit): captures/email
  udp-sink PORT         UDP: reads and ignores every datagram (no answer, no ICMP): a QUIC
                        client's Initials go unanswered, as behind a UDP-blocking firewall
Usage: servers.py [--site FILE.json]... CERT KEY kind:port [kind:port ...]
Never reachable from outside the namespace. Without --site no file is served from disk.
--site FILE.json (opt-in, used by captures/email/record_opens.sh): {"host/path": {"file": F,
  "type": MIME, "delay": SECONDS}} -- a request whose Host (port removed) + path (query removed)
  is a key is answered with file F (relative to the JSON's folder) after DELAY seconds; any other
  request gets the default answer above.
"""
import base64
import http.server
import json
import os
import socket
import socketserver
import ssl
import sys
import threading
import time

SITES = {}  # "host/path" -> (body bytes, content type, delay seconds), from --site files

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
        host = (self.headers.get("Host") or "").lower()
        if host.startswith("["):  # [v6]:port
            host = host[: host.find("]") + 1]
        elif host.count(":") == 1:  # name:port
            host = host.split(":")[0]
        site = SITES.get(host + path)
        if site is not None:
            body, ctype, delay = site
            if delay:
                time.sleep(delay)
        elif path in ("/", "/index.html"):
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


class ImapSessionHandler(socketserver.StreamRequestHandler):
    """A mail client's long IMAP session: stays open until LOGOUT or the client closes."""

    def handle(self):
        w = self.wfile
        w.write(b"* OK [CAPABILITY IMAP4rev1 IDLE UIDPLUS] ready\r\n")
        w.flush()
        idle_tag = None
        for _ in range(10000):
            line = self.rfile.readline(4096)
            if not line:
                return
            words = line.strip().split()
            if idle_tag is not None:  # RFC 2177: only DONE ends IDLE
                if words and words[0].upper() == b"DONE":
                    w.write(idle_tag + b" OK IDLE terminated\r\n")
                    idle_tag = None
                continue
            tag = words[0] if words else b"*"
            cmd = b" ".join(words[1:3]).upper() if len(words) > 2 and words[1].upper() == b"UID" else (
                words[1].upper() if len(words) > 1 else b"")
            if cmd == b"CAPABILITY":
                w.write(b"* CAPABILITY IMAP4rev1 IDLE UIDPLUS\r\n")
            elif cmd in (b"SELECT", b"EXAMINE"):
                w.write(b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* 2 EXISTS\r\n"
                        b"* 0 RECENT\r\n* OK [UIDVALIDITY 1] UIDs valid\r\n* OK [UIDNEXT 3] next\r\n")
            elif cmd in (b"FETCH", b"UID FETCH"):
                w.write(b"* 1 FETCH (UID 1 FLAGS ())\r\n* 2 FETCH (UID 2 FLAGS ())\r\n")
            elif cmd in (b"STORE", b"UID STORE"):
                n = words[3] if cmd == b"UID STORE" and len(words) > 3 else (words[2] if len(words) > 2 else b"1")
                w.write(b"* " + n + b" FETCH (UID " + n + b" FLAGS (\\Seen))\r\n")
            elif cmd == b"IDLE":
                w.write(b"+ idling\r\n")
                w.flush()
                idle_tag = tag
                continue
            elif cmd == b"LOGOUT":
                w.write(b"* BYE logging out\r\n" + tag + b" OK LOGOUT completed\r\n")
                return
            w.write(tag + b" OK " + (cmd or b"done") + b" completed\r\n")
            w.flush()


class UdpSink(socketserver.UDPServer):
    """Reads and ignores datagrams: no answer and, the port being bound, no ICMP unreachable."""

    address_family = socket.AF_INET6
    allow_reuse_address = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


class IgnoreDatagram(socketserver.BaseRequestHandler):
    def handle(self):
        pass


class LineServer6(socketserver.ThreadingMixIn, socketserver.TCPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def load_site(path):
    with open(path, encoding="utf-8") as f:
        spec = json.load(f)
    base = os.path.dirname(os.path.abspath(path))
    for key, v in spec.items():
        with open(os.path.join(base, v["file"]), "rb") as f:
            body = f.read()
        SITES[key.lower()] = (body, v.get("type", "text/html; charset=utf-8"), float(v.get("delay", 0)))


def main():
    args = sys.argv[1:]
    while args and args[0] == "--site":
        load_site(args[1])
        args = args[2:]
    cert, key, specs = args[0], args[1], args[2:]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    threads = []
    for spec in specs:
        kind, port = spec.split(":")
        port = int(port)
        if kind in ("http", "https"):
            srv = HTTPServer6(("::", port), Handler)
        elif kind == "udp-sink":
            srv = UdpSink(("::", port), IgnoreDatagram)
        elif kind == "imaps-session":
            srv = LineServer6(("::", port), ImapSessionHandler)
            srv.kind = kind
        else:
            srv = LineServer6(("::", port), LineHandler)
            srv.kind = kind
        if kind not in ("http", "udp-sink"):
            srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()
        threads.append(t)
    print("servers ready", flush=True)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()

"""Malformed and cut requests: the preview logs one line for a vanished client, keeps
serving, and never prints a traceback (raw sockets against the real server)."""

from __future__ import annotations

import logging
import socket
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import TEMPLATES
from tests.preview.conftest import ServerFactory

NAME = TEMPLATES[0]  # any template
JSON_POST = (f"POST /api/preview/{NAME} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Content-Type: application/json\r\n")
# Each: the bytes a client sends before it closes the connection.
REQUESTS = {
    "body cut short": JSON_POST.encode() + b"Content-Length: 100\r\n\r\n{",
    "closed before the body": JSON_POST.encode() + b"Content-Length: 10\r\n\r\n",
    "length not a number": JSON_POST.encode() + b"Content-Length: ten\r\n\r\n{}",
    "negative length": JSON_POST.encode() + b"Content-Length: -5\r\n\r\n{}",
    "huge length": JSON_POST.encode() + b"Content-Length: 99999999999\r\n\r\n{}",
    "body not JSON": JSON_POST.encode() + b"Content-Length: 4\r\n\r\n\xff\xfe{[",
    "garbage request line": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    "no blank line": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n",
    "header line too long": b"GET / HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n",
    "non-UTF-8 path": b"GET /t/\xff\xfe HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "cut send": JSON_POST.encode() + b"Content-Length: 40\r\n\r\n{\"to\": \"a@",
}


def _send_and_vanish(port: int, data: bytes, *, read: bool) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        try:
            sock.sendall(data)
            if read:
                sock.settimeout(0.3)  # some requests wait for bytes that never come
                sock.recv(10)
        except OSError:
            pass  # the server may close first; that is fine
        # reset instead of a clean close: the server's reply hits a dead socket
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def test_cut_and_malformed_requests_print_no_traceback(
        project: Path, serve: ServerFactory, capfd: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    server = serve(project)
    caplog.set_level(logging.INFO, logger="bbws_mail.preview")
    for read in (False, True):  # gone before the reply, or after its first bytes
        for data in REQUESTS.values():
            _send_and_vanish(server.port, data, read=read)
    for path in (f"/api/send/{NAME}", f"/api/preview/{NAME}"):  # cut mid-body, then gone
        raw = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               "Content-Length: 100\r\n\r\n{").encode()
        _send_and_vanish(server.port, raw, read=False)
    time.sleep(0.5)  # let the handler threads finish with their dead sockets
    with urllib.request.urlopen(f"{server.url}/", timeout=10) as reply:  # still serving
        assert reply.status == 200
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception occurred" not in err, err[-3000:]
    lines = [r.getMessage() for r in caplog.records if r.name == "bbws_mail.preview"]
    assert any("went away" in line for line in lines)  # a vanished client is one log line
    assert all("\n" not in line and "\x1b" not in line for line in lines)

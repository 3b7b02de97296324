"""The live preview server: stdlib ``ThreadingHTTPServer``, server-sent events.

Stdlib only, so ``nox -s preview`` needs nothing a build does not already have.
One thread per request; the event stream (``/events``) holds its thread and
wakes on the workspace's change condition, so a page re-renders within one
watcher poll (~100 ms) plus one build of the changed template.

It listens on 127.0.0.1 only, and the endpoints that act (render with posted
data, send) accept only same-origin JSON requests from a local Host, so a web
page open elsewhere in the designer's browser cannot make it send mail.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from bbws_mail.config import Config
from bbws_mail.errors import BBWSMailError, TemplateDataError
from bbws_mail.names import shown
from bbws_mail.preview import pages
from bbws_mail.preview.send import SendSettings, send_email
from bbws_mail.preview.watch import Watcher
from bbws_mail.preview.workspace import Workspace, no_links, parse_data

log = logging.getLogger("bbws_mail.preview")
KEEPALIVE_SECONDS = 15.0
MAX_BODY = 2 * 1024 * 1024
# For content from the sources (the email, assets) opened on its own URL, by a link
# in the email or by another site: shown in an opaque origin with no script, it cannot
# call this server's endpoints as the designer's page.
SANDBOXED = {"Content-Security-Policy": "sandbox allow-popups allow-popups-to-escape-sandbox",
             "X-Content-Type-Options": "nosniff"}


class PreviewServer:
    """Workspace + watcher + HTTP server; ``start()`` serves in a background thread.

    ``port=0`` picks a free port (tests); ``url`` tells which one.
    """

    def __init__(self, config: Config, *, host: str = "127.0.0.1", port: int = 8025,
                 send: SendSettings | None = None, send_env: str = "dev",
                 send_to: str = "", data_dir: Path | None = None,
                 poll_interval: float = 0.1) -> None:
        self.config = config
        self.send_settings = send or SendSettings.from_env()
        self.send_asset_base_url = config.env(send_env).asset_base_url
        self.send_to = send_to
        self.httpd = _Server((host, port), _Handler)
        self.httpd.preview = self
        address = self.httpd.server_address
        self.host, self.port = str(address[0]), int(address[1])
        self.url = f"http://{self.host}:{self.port}"
        self.workspace = Workspace(config, asset_base_url=f"{self.url}/assets",
                                   data_dir=data_dir)
        self.workspace.build_all()
        self.watcher = Watcher(self.workspace.watch_specs(), self.workspace.on_files_changed,
                               interval=poll_interval)
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def links(self) -> pages.Links:
        return pages.Links(index="/", page=lambda n: f"/t/{quote(n)}",
                           email=lambda n: f"/email/{quote(n)}.html",
                           text=lambda n: f"/text/{quote(n)}.txt")

    def start(self) -> PreviewServer:
        """Serve and watch in daemon threads; returns self for ``with``-less use."""
        self.watcher.start()
        self._thread = threading.Thread(target=self.httpd.serve_forever,
                                        kwargs={"poll_interval": 0.2},
                                        name="bbws-preview-http", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl+C (the CLI)."""
        self.watcher.start()
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            self.close()

    def close(self) -> None:
        self.stopping.set()
        self.watcher.stop()
        self.workspace.notify(stopping=True)  # wake the event streams so they end
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
        self.httpd.server_close()

    def __enter__(self) -> PreviewServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    preview: PreviewServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One log line, never socketserver's traceback: a client that vanished or sent
        something unreadable is the client's business, and the server keeps serving."""
        _log_failure(sys.exc_info()[1], client_address)


def _log_failure(exc: BaseException | None, client_address: Any, what: str = "a request"
                 ) -> None:
    host = client_address[0] if isinstance(client_address, tuple) else "?"
    kind = type(exc).__name__ if exc is not None else "?"
    if isinstance(exc, (ConnectionError, TimeoutError)):
        log.warning("preview: client %s went away during %s (%s)", host, what, kind)
    else:
        log.error("preview: %s from %s failed (%s); still serving", what, host, kind)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    @property
    def app(self) -> PreviewServer:
        return self.server.preview

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a designer's terminal is for build errors, not access logs

    # -- plumbing -------------------------------------------------------------

    def _send(self, status: int, body: bytes | str, ctype: str = "text/html; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        # no other site may frame a page and have the designer click Send in it unseen
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Content-Security-Policy", "frame-ancestors 'none'")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data), "application/json")

    def _local_host(self) -> bool:
        """The Host header names this machine (defeats DNS rebinding)."""
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
        return host in {"127.0.0.1", "localhost", "::1", str(self.app.host)}

    def _same_origin_json(self) -> bool:
        """Only this server's own pages may POST (JSON type forces a CORS preflight)."""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        origin = self.headers.get("Origin")
        if origin and urlsplit(origin).netloc != self.headers.get("Host"):
            return False
        return ctype == "application/json"

    def _body(self) -> dict[str, Any]:
        """The JSON object posted; ValueError for anything else (a 400, never a traceback)."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise ValueError("bad Content-Length") from None
        if length > MAX_BODY:
            raise ValueError("request too large")
        if length < 0:  # read(-1) would wait for the client to close the connection
            raise ValueError("bad Content-Length")
        raw = self.rfile.read(length) if length else b"{}"
        if len(raw) < length:  # the client closed mid-body: nobody is left to answer
            raise ConnectionAbortedError("request body cut short")
        try:
            data = json.loads(raw or b"{}")
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return data

    # -- routes ---------------------------------------------------------------

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if not self._local_host():
            self._send(HTTPStatus.FORBIDDEN, "forbidden host", "text/plain")
            return
        url = urlsplit(self.path)
        path = unquote(url.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            if path == "/":
                self._index()
            elif path.startswith("/t/"):
                self._template(path[3:], query)
            elif path.startswith("/email/") and path.endswith(".html"):
                self._email(path[7:-5], query)
            elif path.startswith("/text/") and path.endswith(".txt"):
                self._text(path[6:-4], query)
            elif path == "/events":
                self._events()
            elif path.startswith("/assets/"):
                self._asset(path[8:])
            elif path == "/favicon.ico":
                self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
            else:
                self._send(HTTPStatus.NOT_FOUND, pages.error_page("Not found", path))
        except ConnectionError as exc:
            self._gone(exc)

    def do_POST(self) -> None:
        try:
            self._post()
        except ConnectionError as exc:
            self._gone(exc)

    def _gone(self, exc: BaseException) -> None:
        """The client vanished (closed mid-body, or before the reply): one log line."""
        self.close_connection = True
        route = quote(unquote(urlsplit(self.path).path), safe="/")[:100]  # no control reaches a log
        _log_failure(exc, self.client_address, f"{self.command} {route}")

    def _post(self) -> None:
        if not self._local_host() or not self._same_origin_json():
            self._json(HTTPStatus.FORBIDDEN, {"ok": False, "message": "forbidden"})
            return
        path = unquote(urlsplit(self.path).path)
        try:
            body = self._body()
        except ValueError as exc:
            self.close_connection = True  # an unread body must not be taken for a request
            self._json(HTTPStatus.BAD_REQUEST, {"ok": False, "message": str(exc)})
            return
        if path.startswith("/api/preview/"):
            self._api_preview(path[13:], body)
        elif path.startswith("/api/send/"):
            self._api_send(path[10:], body)
        else:
            self._json(HTTPStatus.NOT_FOUND, {"ok": False, "message": "not found"})

    def _known(self, name: str) -> bool:
        if self.app.workspace.state(name) is not None:
            return True
        known = ", ".join(self.app.workspace.names())
        self._send(HTTPStatus.NOT_FOUND, pages.error_page(
            "Unknown template", f"There is no template {shown(name)}. Known: {known}"))
        return False

    def _index(self) -> None:
        ws = self.app.workspace
        previews = [ws.preview(n) for n in ws.names()]
        self._send(HTTPStatus.OK, pages.index_page(previews, self.app.links(), live=True))

    def _template(self, name: str, query: dict[str, str]) -> None:
        if not self._known(name):
            return
        ws = self.app.workspace
        p = ws.preview(name, file=query.get("data") or None)
        self._send(HTTPStatus.OK, pages.template_page(
            p, self.app.links(), live=True, dark=query.get("dark") == "1",
            data_files=ws.data_files(), send_to=self.app.send_to,
            send_via=f"via {self.app.send_settings.describe()}"))

    def _email(self, name: str, query: dict[str, str]) -> None:
        if not self._known(name):
            return
        p = self.app.workspace.preview(name, file=query.get("data") or None)
        if p.email is None:
            self._send(HTTPStatus.CONFLICT, pages.error_page(
                f"{name} cannot render", "; ".join(
                    p.build_errors + [str(d) for d in p.data_errors] + [p.json_error])))
            return
        self._send(HTTPStatus.OK, pages.frame_document(p.email.html,
                                                       dark=query.get("dark") == "1"),
                   headers=SANDBOXED)

    def _text(self, name: str, query: dict[str, str]) -> None:
        if not self._known(name):
            return
        p = self.app.workspace.preview(name, file=query.get("data") or None)
        text = p.email.text if p.email else "\n".join(
            p.build_errors + [str(d) for d in p.data_errors] + [p.json_error])
        self._send(HTTPStatus.OK if p.email else HTTPStatus.CONFLICT, text,
                   "text/plain; charset=utf-8")

    def _asset(self, rel: str) -> None:
        base = self.app.config.root / "assets"
        target = base / rel
        if not target.is_file():  # logo.<sha16>.png, as the build names assets/logo.png
            from bbws_mail.pipeline.brand import find_asset

            target = find_asset(base, rel) or target
        if not (target.is_file() and no_links(target, self.app.config.root)):
            self._send(HTTPStatus.NOT_FOUND, b"", "text/plain")
            return
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        self._send(HTTPStatus.OK, target.read_bytes(), ctype, headers=SANDBOXED)

    def _events(self) -> None:
        """Server-sent events: the current generation now, then one message per change."""
        ws = self.app.workspace
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        seen = ws.generation
        self._event({"generation": seen, "hello": True})
        while not self.app.stopping.is_set():
            event = ws.wait_for_change(seen, KEEPALIVE_SECONDS)
            if self.app.stopping.is_set():
                break
            if event is None:
                self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
                continue
            seen = event["generation"]
            self._event(event)

    def _event(self, data: dict[str, Any]) -> None:
        self.wfile.write(f"retry: 500\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()

    def _api_preview(self, name: str, body: dict[str, Any]) -> None:
        ws = self.app.workspace
        if ws.state(name) is None:
            self._json(HTTPStatus.NOT_FOUND, {"ok": False, "message": f"unknown template {name}"})
            return
        text = body.get("text")
        file = body.get("file") or None
        p = ws.preview(name, text=text if isinstance(text, str) else None,
                       file=file if isinstance(file, str) else None)
        self._json(HTTPStatus.OK, pages.payload(p))

    def _api_send(self, name: str, body: dict[str, Any]) -> None:
        """Render with the page's data and the environment's asset URL, then send."""
        ws = self.app.workspace
        to = body.get("to")
        if ws.state(name) is None or not isinstance(to, str):
            self._json(HTTPStatus.BAD_REQUEST, {"ok": False, "message": "need a template and 'to'"})
            return
        state = ws.state(name)
        if state is not None and state.errors:
            self._json(HTTPStatus.OK, {"ok": False, "message": f"not sent: {name} does not "
                                       f"build ({len(state.errors)} error(s))"})
            return
        text = body.get("text")
        file = body.get("file")
        choice = ws.choose_data(name, text=text if isinstance(text, str) else None,
                                file=file if isinstance(file, str) and file else None)
        data, json_error = parse_data(choice.text)
        if json_error:
            self._json(HTTPStatus.OK, {"ok": False, "message": f"not sent: {json_error}"})
            return
        try:
            email = ws.render(name, data, asset_base_url=self.app.send_asset_base_url)
            message = send_email(email, to, self.app.send_settings)
        except TemplateDataError as exc:
            problems = "; ".join(str(p) for p in exc.problems)
            self._json(HTTPStatus.OK, {"ok": False, "message": f"not sent: {problems}"})
            return
        except BBWSMailError as exc:
            self._json(HTTPStatus.OK, {"ok": False, "message": f"not sent: {exc}"})
            return
        self._json(HTTPStatus.OK, {"ok": True, "message": message})

"""The HTTP side of `build.py --serve`: the site folder over loopback, with a script injected
into every HTML response (never written into the site) and server-sent events that tell open
tabs about new builds (which the script swaps in section by section, or reloads), failures and
what is being rebuilt."""
from __future__ import annotations

import json
import queue
import re
import threading
import time
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

EVENTS_PATH = "/__preview/events"
VERSION_HEADER = "X-Preview-Version"
SCRIPT = (Path(__file__).with_name("preview.js")).read_text(encoding="utf-8")
BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
KEEPALIVE_SECONDS = 15.0  # a comment line now and then: a closed tab shows up as a failed write
SWAP_WAIT_SECONDS = 0.5  # the site folder is missing for an instant while a build swaps it in

PLACEHOLDER = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>预览</title></head>
<body><p>还没有构建成功的页面；构建完成后本页会自动刷新。</p></body></html>
"""


def inject(html: bytes, version: str) -> bytes:
    """The page with the reload script before its last </body> (at the end if it has none)."""
    script = SCRIPT.replace("__PREVIEW_VERSION__", version)
    tag = f"<script>{script}</script>\n".encode()
    ends = list(BODY_END.finditer(html))
    if not ends:
        return html + tag
    at = ends[-1].start()
    return html[:at] + tag + html[at:]


class Hub:
    """What every open tab is told: the version of the site being served (a new one reloads the
    tab, or has it swap in the sections that changed), the error of the last build if it failed, and what is being rebuilt."""

    def __init__(self, version: str):
        self._lock = threading.Lock()
        self._listeners: set[queue.Queue] = set()
        # patch: how a tab showing the version before this one catches up without a reload (the
        # sections that changed, per page; see report/preview_patch.py); None: it reloads
        self.state: dict = {"version": version, "error": None, "status": "idle", "patch": None}

    def update(self, **changes) -> int:
        """Change the state and send it to every tab; how many tabs were listening."""
        with self._lock:
            self.state = {**self.state, **changes}
            for listener in self._listeners:
                listener.put(self.state)
            return len(self._listeners)

    def listen(self) -> queue.Queue:
        listener: queue.Queue = queue.Queue()
        with self._lock:
            self._listeners.add(listener)
            listener.put(self.state)
        return listener

    def forget(self, listener: queue.Queue) -> None:
        with self._lock:
            self._listeners.discard(listener)

    def close(self) -> None:
        """End every event stream (the server is stopping)."""
        with self._lock:
            for listener in self._listeners:
                listener.put(None)


class PreviewHandler(SimpleHTTPRequestHandler):
    hub: Hub  # set on the subclass made by PreviewServer

    def log_message(self, format: str, *args) -> None:  # one line per request would bury the build's output
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")  # revalidate: a figure may change under the same name
        super().end_headers()

    def do_GET(self) -> None:
        if self.path.split("?")[0] == EVENTS_PATH:
            self._events()
        elif not self._html(send_body=True):
            super().do_GET()

    def do_HEAD(self) -> None:
        if not self._html(send_body=False):
            super().do_HEAD()

    def translate_path(self, path: str) -> str:
        deadline = time.monotonic() + SWAP_WAIT_SECONDS
        while not Path(self.directory).is_dir() and time.monotonic() < deadline:
            time.sleep(0.01)
        return super().translate_path(path)

    def _html(self, send_body: bool) -> bool:
        """Serve an HTML page with the reload script; False for anything else."""
        wanted = self.path.split("?")[0].split("#")[0]
        path = Path(self.translate_path(wanted + ("index.html" if wanted.endswith("/") else "")))
        if path.suffix != ".html":
            return False
        version = self.hub.state["version"]  # before the file: the site on disk is never behind it
        if path.is_file():
            body = path.read_bytes()
        elif wanted in ("/", "/index.html"):
            body = PLACEHOLDER.encode()  # no site yet: the first build is running or failed
        else:
            return False
        body = inject(body, version)
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header(VERSION_HEADER, version)  # a tab that fetches the page to patch itself checks it
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)
        return True

    def _events(self) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.end_headers()
        listener = self.hub.listen()
        try:
            self.wfile.write(b"retry: 500\n\n")  # after a restart of the server, reconnect at once
            while True:
                try:
                    state = listener.get(timeout=KEEPALIVE_SECONDS)
                except queue.Empty:
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                    continue
                if state is None:
                    return
                self.wfile.write(f"event: state\ndata: {json.dumps(state, ensure_ascii=False)}\n\n".encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self.hub.forget(listener)
            self.close_connection = True


class PreviewServer(ThreadingHTTPServer):
    """127.0.0.1 only; binding happens here, so a port in use fails before any build starts."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, directory: Path, port: int, hub: Hub):
        handler = type("Handler", (PreviewHandler,), {"hub": hub})

        def make(*args, **kwargs):
            return handler(*args, directory=str(directory), **kwargs)

        super().__init__(("127.0.0.1", port), make)
        self.hub = hub
        self.thread = threading.Thread(target=self.serve_forever, name="preview-http", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.hub.close()
        self.shutdown()
        self.server_close()

"""Serve a WSGI app on a free 127.0.0.1 port in a background thread."""

from __future__ import annotations

import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

_RESPONSE_KEY = "tests.live.response"


class LiveServer:
    """A running server: ``url`` to reach it, ``shutdown()`` to stop it.

    Also a context manager: ``with serve(app) as srv: ...``.
    """

    def __init__(self, server: BaseWSGIServer) -> None:
        self._server = server
        self.port: int = server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        # A short poll interval keeps shutdown() from stalling each test by 0.5 s.
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def shutdown(self) -> None:
        """Stop serving and close the listening socket (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()


class _ClosingHandler(WSGIRequestHandler):
    """Close the response when the client hangs up mid-body.

    A browser that navigates away while a static file is still streaming drops the connection;
    Werkzeug then abandons the response without closing it, and the open file surfaces later as
    an "unclosed file" ResourceWarning in whichever test happens to be running.
    """

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        response = (environ or {}).pop(_RESPONSE_KEY, None)
        if hasattr(response, "close"):
            response.close()


def _remember_response(wsgi_app: Any) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        response = wsgi_app(environ, start_response)
        environ[_RESPONSE_KEY] = response
        return response

    return app


def serve(wsgi_app: Any, port: int = 0) -> LiveServer:
    """Start ``wsgi_app`` on 127.0.0.1 (``port`` 0 picks a free one)."""
    return LiveServer(
        make_server(
            "127.0.0.1",
            port,
            _remember_response(wsgi_app),
            threaded=True,
            request_handler=_ClosingHandler,
        )
    )

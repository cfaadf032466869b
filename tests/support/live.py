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

    def __init__(self, server: BaseWSGIServer, in_flight: _InFlight) -> None:
        self._server = server
        self._in_flight = in_flight
        self.port: int = server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        # A short poll interval keeps shutdown() from stalling each test by 0.5 s.
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def shutdown(self) -> None:
        """Stop serving, let the requests still running finish, and close the listening socket
        (idempotent).

        Each request runs in its own thread, which the server does not wait for: a request a
        browser sent as the test ended (a page's background sync) could still hold row locks
        when the next fixture empties the tables, and PostgreSQL's TRUNCATE then deadlocked
        with it. And a request accepted just before the shutdown whose thread reached the app
        just after it would take a database connection after the fixture had disposed of the
        engine, handing it back to a pool nobody closes (on PostgreSQL a "connection deleted
        while still open" warning, failing whichever test the garbage collector ran in): so
        from here on a request is answered 503 without entering the app.
        """
        self._in_flight.close()
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._in_flight.wait_idle(timeout=10)
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


class _InFlight:
    """How many requests are inside the app (from the call until their response is closed)."""

    def __init__(self) -> None:
        self._count = 0
        self._closed = False
        self._changed = threading.Condition()

    def enter(self) -> bool:
        """Count a request in, unless the server is shutting down (then False)."""
        with self._changed:
            if self._closed:
                return False
            self._count += 1
            return True

    def leave(self) -> None:
        """Count a request out (its response closed, or the app raised)."""
        with self._changed:
            self._count -= 1
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self._closed = True

    def wait_idle(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._count == 0, timeout)


class _Counted:
    """A response that counts itself out of ``in_flight`` when closed (once)."""

    def __init__(self, response: Any, in_flight: _InFlight) -> None:
        self._response, self._in_flight, self._open = response, in_flight, True

    def __iter__(self) -> Any:
        return iter(self._response)

    def close(self) -> None:
        if not self._open:
            return
        self._open = False
        try:
            if hasattr(self._response, "close"):
                self._response.close()
        finally:
            self._in_flight.leave()


def _remember_response(wsgi_app: Any, in_flight: _InFlight) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if not in_flight.enter():
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return [b""]
        try:
            response = _Counted(wsgi_app(environ, start_response), in_flight)
        except BaseException:
            in_flight.leave()
            raise
        environ[_RESPONSE_KEY] = response
        return response

    return app


def serve(wsgi_app: Any, port: int = 0) -> LiveServer:
    """Start ``wsgi_app`` on 127.0.0.1 (``port`` 0 picks a free one)."""
    in_flight = _InFlight()
    server = make_server(
        "127.0.0.1",
        port,
        _remember_response(wsgi_app, in_flight),
        threaded=True,
        request_handler=_ClosingHandler,
    )
    return LiveServer(server, in_flight)

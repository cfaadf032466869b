"""The browser tests' server closes what it was sending when a browser hangs up mid-file."""

import gc
import socket
import struct
import sys
import time

from tests.support.live import serve


def test_a_download_the_client_abandons_leaves_no_file_open(app, monkeypatch):
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with serve(app) as server:
        for _ in range(30):
            conn = socket.create_connection(("127.0.0.1", server.port))
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
            conn.sendall(
                b"GET /static/vendor/cytoscape/cytoscape.min.js HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            conn.recv(100)
            # Linger 0: close with a reset, as a browser does when it navigates away.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
        time.sleep(1)
    gc.collect()

    assert [u.exc_value for u in unraisable] == []


def test_stopping_waits_for_a_request_still_inside_the_app():
    """The next fixture empties the tables once the server is stopped: a request still
    running then (a page's last background call) must have finished, or it could hold locks
    that PostgreSQL's TRUNCATE deadlocks with."""
    import threading
    import urllib.request

    entered, finished = threading.Event(), threading.Event()

    def slow_app(environ, start_response):
        entered.set()
        time.sleep(0.5)
        finished.set()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"done"]

    server = serve(slow_app)
    caller = threading.Thread(target=lambda: urllib.request.urlopen(server.url, timeout=5).read())  # noqa: S310
    caller.start()
    assert entered.wait(5)
    server.shutdown()
    assert finished.is_set()
    caller.join(5)


def test_a_request_that_reaches_the_app_after_stopping_is_turned_away():
    """A connection accepted before the stop whose request arrives after it must not enter the
    app: the fixture has disposed of the engine by then, and a database connection taken then
    goes back to a pool nobody closes (on PostgreSQL, a "deleted while still open" warning in
    whichever later test the garbage collector runs)."""
    called = []

    def app(environ, start_response):
        called.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"in"]

    server = serve(app)
    conn = socket.create_connection(("127.0.0.1", server.port))
    time.sleep(0.3)  # the server accepts it and a thread waits for the request line
    server.shutdown()
    conn.sendall(b"GET /late HTTP/1.0\r\nHost: x\r\n\r\n")
    answer = conn.recv(100)
    conn.close()

    assert answer.startswith(b"HTTP/1.0 503") or answer.startswith(b"HTTP/1.1 503")
    assert called == []

"""A small loopback TCP server that answers each request after a fixed latency.

It stands in for a remote service: a client spends its time waiting on the
socket, which is exactly the time a GIL-releasing read lets other threads use.
The server is started and stopped by the workload that needs it; its handler
threads are joined on close, so nothing outlives a run.
"""
from __future__ import annotations

import socketserver
import threading
import time
from contextlib import contextmanager
from typing import Iterator, Tuple

LATENCY_SECONDS = 0.002
PAYLOAD_BYTES = 16 * 1024


class _DelayedEcho(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        payload = b"x" * PAYLOAD_BYTES
        for line in self.rfile:
            if not line.strip():
                break
            time.sleep(LATENCY_SECONDS)
            self.wfile.write(payload)
            self.wfile.flush()


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = False  # joined by server_close(): no thread survives a run
    block_on_close = True


@contextmanager
def serve() -> Iterator[Tuple[str, int]]:
    """Run the server on an ephemeral loopback port; yields (host, port)."""
    server = _Server(("127.0.0.1", 0), _DelayedEcho)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="gilcore-loopback-server")
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield host, port
    finally:
        server.shutdown()
        thread.join()
        server.server_close()

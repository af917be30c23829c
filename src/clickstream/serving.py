"""An ASGI app served by uvicorn in a daemon thread: the dashboard's and the collector's server.

The caller's main thread keeps the signals (Ctrl-C stops a demo or a collector between requests),
so uvicorn never installs its own handlers here.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any


def _not_a_bind_error(record: logging.LogRecord) -> bool:
    # start() reports a port that cannot be bound in one line with what to do; uvicorn's own line would repeat it.
    return "error while attempting to bind" not in record.getMessage()


class BackgroundServer:
    """`name` says what is served in the thread's name and in errors; `busy_hint` what to do when
    the port cannot be bound; `error` the exception raised then; `options` go to uvicorn.Config."""

    def __init__(self, app: Any, host: str, port: int, *, name: str, busy_hint: str,
                 error: type[Exception], **options: Any) -> None:  # fmt: skip
        import uvicorn

        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off", **options)
        self.server = uvicorn.Server(config)
        uvicorn_log = logging.getLogger("uvicorn.error")
        if _not_a_bind_error not in uvicorn_log.filters:
            uvicorn_log.addFilter(_not_a_bind_error)
        self.host, self.requested_port = host, port
        self.name, self.busy_hint, self.error = name, busy_hint, error
        self.thread = threading.Thread(target=self.server.run, name=name, daemon=True)

    def start(self, timeout: float = 10.0):  # noqa: ANN201 - returns the subclass
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise self.error(
                    f"the {self.name} could not listen on {self.host} port {self.requested_port}: is the port in use? {self.busy_hint}"
                )
            time.sleep(0.02)
        return self

    @property
    def port(self) -> int:
        return self.server.servers[0].sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=timeout)

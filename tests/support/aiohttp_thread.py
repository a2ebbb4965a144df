"""An aiohttp application served from a daemon thread with its own event loop.

The fake servers (:class:`tests.support.fake_qwen.FakeQwen`,
``benchmarks.fake_tabby.FakeTabby``) subclass :class:`ThreadedApp`; it can also be used on its
own::

    def make_app() -> web.Application:  # called in the server thread, inside its loop
        app = web.Application()
        app.router.add_get("/", hello)
        return app

    with ThreadedApp(make_app) as server:
        httpx.get(f"http://{server.host}:{server.port}/")

    ThreadedApp(catch_all(handle), port=8080).start()  # every method and path -> handle

``stop()`` sets :attr:`ThreadedApp.stopping` before it wakes the loop, so handlers that wait
(sleeping, polling) can check it and give up at once instead of holding the shutdown for
``shutdown_timeout`` seconds. A stopped server can be started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

from aiohttp import web

__all__ = ["ThreadedApp", "catch_all"]

_log = logging.getLogger(__name__)

#: 64 MiB: big enough for any request body a test sends.
_CLIENT_MAX_SIZE = 64 * 1024 * 1024


def catch_all(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> Callable[[], web.Application]:
    """An ``app_factory`` whose application sends every method and path to ``handler``."""

    def make_app() -> web.Application:
        app = web.Application(client_max_size=_CLIENT_MAX_SIZE)
        app.router.add_route("*", "/{tail:.*}", handler)
        return app

    return make_app


class ThreadedApp:
    """Serves ``app_factory()`` on ``host:port`` (0: a free port) from a background thread.

    ``start()`` / ``stop()`` or use it as a context manager. ``shutdown_timeout`` is how long
    aiohttp lets in-flight handlers finish on ``stop()`` before cancelling them; ``name`` names
    the thread.
    """

    def __init__(
        self,
        app_factory: Callable[[], web.Application],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        shutdown_timeout: float = 2.0,
        name: str = "aiohttp-app",
    ) -> None:
        self.host = host
        self.shutdown_timeout = shutdown_timeout
        self._app_factory = app_factory
        self._requested_port = port
        self._thread_name = name
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._stopping = False

    @property
    def port(self) -> int:
        """The bound port; RuntimeError when not running."""
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} is not running")
        return self._port

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        """True from ``stop()`` until the next ``start()``: waiting handlers should give up."""
        return self._stopping

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The server thread's event loop while it runs, else None."""
        return self._loop

    def start(self, timeout: float = 10.0) -> Self:
        """Start serving (no-op when already running); returns self once the port is bound.

        An error while starting (e.g. the port is taken) is raised here.
        """
        if self.running:
            return self
        self._ready.clear()
        self._startup_error = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise TimeoutError(f"{type(self).__name__} did not start in time")
        if self._startup_error is not None:
            error = self._startup_error
            self._thread.join(timeout)
            self._thread = None
            raise error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and join the thread. Idempotent."""
        thread = self._thread
        if thread is None:
            return
        self._stopping = True
        loop, stop_event = self._loop, self._stop_event
        if loop is not None and stop_event is not None:
            with contextlib.suppress(RuntimeError):  # the loop may already be closed
                loop.call_soon_threadsafe(stop_event.set)
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(f"{type(self).__name__} thread did not stop in time")
        self._thread = None
        self._port = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:
            if not self._ready.is_set():
                self._startup_error = exc
            else:
                _log.exception("%s crashed", type(self).__name__)
        finally:
            try:
                pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                self._loop = None
                self._stop_event = None
                loop.close()
                self._ready.set()

    async def _serve(self) -> None:
        self._stop_event = asyncio.Event()
        runner = web.AppRunner(
            self._app_factory(),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=self.shutdown_timeout,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self._requested_port).start()
            self._port = int(runner.addresses[0][1])
            self._ready.set()
            if not self._stopping:  # stop() may have run before the event existed
                await self._stop_event.wait()
        finally:
            await runner.cleanup()

"""Keep a lease alive while a long call runs: `with heartbeat(every, beat): ...`.

`beat` runs in a thread of its own every `every` seconds until the block ends. It uses its own
database connection (closed when the thread ends); a beat that fails is logged and tried again at
the next one, so a lease should cover a couple of missed beats."""

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def heartbeat(every: float, beat: Callable[[], None], *, name: str) -> Iterator[None]:
    stop = threading.Event()

    def run() -> None:
        try:
            while not stop.wait(every):
                try:
                    beat()
                except DatabaseError as exc:
                    logger.warning("heartbeat %s missed a beat: %s", name, exc)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=run, name=f"heartbeat-{name}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)

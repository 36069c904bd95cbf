"""The background-task worker run inside `runbot`, so the embedded shop needs no other process."""

import logging
import threading

from django.db import close_old_connections
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

log = logging.getLogger(__name__)


class EmbeddedWorker:
    def __init__(self, *, interval: float = 1.0):
        self.worker = Worker(
            queue_names=["default"],
            interval=interval,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=f"runbot-{get_random_string(8)}",
            excluded_queue_names=[],
        )
        self.thread = threading.Thread(target=self._run, name="task-worker", daemon=True)
        self.stopping = threading.Event()

    def _run(self) -> None:
        """Keep the worker alive: a database hiccup must not stop background work until a restart."""
        backoff = 1.0
        while not self.stopping.is_set():
            try:
                self.worker.run()
                return
            except Exception:
                log.exception("background worker failed; restarting in %.0f s", backoff)
                close_old_connections()
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 60.0)
                self.worker.running = not self.stopping.is_set()

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float) -> None:
        """Let a running task finish (up to `timeout`); a sleeping worker stops within its interval."""
        self.stopping.set()
        self.worker.running = False
        self.thread.join(timeout)

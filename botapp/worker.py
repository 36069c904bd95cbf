"""The background-task worker run inside `runbot`, so the embedded shop needs no other process."""

import threading

from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker


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
        self.thread = threading.Thread(target=self.worker.run, name="task-worker", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float) -> None:
        """Let a running task finish (up to `timeout`); a sleeping worker stops within its interval."""
        self.worker.running = False
        self.thread.join(timeout)

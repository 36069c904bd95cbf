"""Handling updates on every core: one poller process feeding several worker processes.

One Python process runs on one CPU at a time (the GIL), so `runbot --processes N` keeps the
poller, its journal and its per-user lines (botapp.polling) in the main process and hands each
update, as the raw JSON Telegram sent, to worker process `user id % N`, which runs the same bot
and handlers on its own threads and answers whether the update was handled. A user's updates
thus always go to the same process (local-memory flood control stays right) and still run one at
a time, in order: the poller gives a user's next update out only after the previous one is done.

A worker that dies (killed, out of memory) loses nothing: every update it had in hand counts as
not handled, stays in the poller's journal and is handed again, after a short backoff, to the
worker started in its place. An update handled twice that way is harmless (payments are recorded
once by their payment id), as after any crash of `runbot` itself.
"""

import itertools
import logging
import multiprocessing
import threading
from concurrent.futures import Future
from multiprocessing.connection import wait

from django.db import close_old_connections

from botapp.process_main import worker_process_main
from shop.services.delivery import delivery_claimer, purchase_release_delivery_claims_of

log = logging.getLogger(__name__)

START_TIMEOUT = 60.0
WATCH_INTERVAL = 0.5


class WorkerProcesses:
    """`count` worker processes with `threads` handler threads each; `handle` blocks until one answers."""

    def __init__(self, count: int, threads: int):
        self.count = count
        self.threads = threads
        self._context = multiprocessing.get_context("spawn")  # no fork: the poller already runs threads
        self._results = self._context.Queue()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._in_hand: dict[int, tuple[int, Future]] = {}  # request id -> (process index, its answer)
        self._processes: list = [None] * count
        self._requests: list = [None] * count
        self._stopping = threading.Event()
        self._ready = threading.Semaphore(0)
        self._reader = threading.Thread(target=self._read_results, name="bot-processes-results", daemon=True)
        self._watcher = threading.Thread(target=self._watch, name="bot-processes-watch", daemon=True)

    def start(self) -> None:
        for index in range(self.count):
            self._spawn(index)
        self._reader.start()
        for _ in range(self.count):
            if not self._ready.acquire(timeout=START_TIMEOUT):
                raise RuntimeError("a worker process did not start (see the log above)")
        self._watcher.start()

    def _spawn(self, index: int) -> None:
        requests = self._context.Queue()
        process = self._context.Process(
            target=worker_process_main,
            args=(index, requests, self._results, self.threads),
            name=f"bot-process-{index}",
            daemon=True,
        )
        process.start()
        self._processes[index], self._requests[index] = process, requests

    def handle(self, user, raw: dict) -> bool:
        """Handle one update on its user's process; False if it must be handled again (or its process died)."""
        index = (user if isinstance(user, int) else int(raw.get("update_id", 0))) % self.count
        future: Future = Future()
        with self._lock:
            if self._stopping.is_set():
                return False
            request_id = next(self._ids)
            self._in_hand[request_id] = (index, future)
            self._requests[index].put((request_id, raw))
        return future.result()

    def _read_results(self) -> None:
        while True:
            message = self._results.get()
            if message is None:
                return
            request_id, handled = message
            if request_id == "ready":
                self._ready.release()
                continue
            with self._lock:
                entry = self._in_hand.pop(request_id, None)
            if entry is not None:  # None: answered after its process was given up for dead
                entry[1].set_result(bool(handled))

    def _watch(self) -> None:
        """A dead worker process: what it had in hand is not handled (the poller retries it); start another."""
        while not self._stopping.is_set():
            sentinels = {process.sentinel: index for index, process in enumerate(self._processes)}
            for sentinel in wait(list(sentinels), timeout=WATCH_INTERVAL):
                index = sentinels[sentinel]
                if self._stopping.is_set():
                    return
                log.error(
                    "worker process %d died (exit code %s); its updates will be handled again",
                    index,
                    self._processes[index].exitcode,
                )
                dead = self._processes[index]
                with self._lock:
                    lost = [rid for rid, (where, _future) in self._in_hand.items() if where == index]
                    futures = [self._in_hand.pop(rid)[1] for rid in lost]
                    self._spawn(index)
                self._release_claims(dead.pid)  # before its updates are retried: they deliver at once
                for future in futures:
                    future.set_result(False)

    @staticmethod
    def _release_claims(pid: int) -> None:
        try:
            close_old_connections()
            released = purchase_release_delivery_claims_of(claimer=delivery_claimer(pid))
            if released:
                log.info("released %d delivery claim(s) of the dead worker process", released)
        except Exception:  # the claims then run out on their own (see botapp.recovery)
            log.exception("could not release the delivery claims of a dead worker process")

    def stop(self, grace: float) -> None:
        """Let the workers finish what they have (up to `grace` seconds each), then end them."""
        self._stopping.set()
        for requests in self._requests:
            requests.put(None)
        for process in self._processes:
            process.join(grace)
            if process.is_alive():
                log.warning("worker process %s did not stop in time; ending it", process.name)
                process.terminate()
                process.join(5)
        self._results.put(None)
        with self._lock:
            futures = [future for _index, future in self._in_hand.values()]
            self._in_hand.clear()
        for future in futures:
            future.set_result(False)

"""Handling updates on every core: one poller process feeding several worker processes.

One Python process runs on one CPU at a time (the GIL), so `runbot --processes N` keeps the
poller, its journal and its per-user lines (botapp.polling) in the main process and hands each
update, as the raw JSON Telegram sent, to worker process `user id % N`, which runs the same bot
and handlers on its own threads and answers whether the update was handled. A user's updates
thus always go to the same process (local-memory flood control stays right) and still run one at
a time, in order: the poller gives a user's next update out only after the previous one is done.

Each worker has a pipe of its own (no queue shared between workers: a worker killed while writing
can break only its own pipe). A worker that dies (killed, out of memory) loses nothing: every
update it had in hand counts as not handled, stays in the poller's journal and is handed again,
after a short backoff, to the worker started in its place; the deliveries it had begun are freed
at once. An update handled twice that way is harmless (payments are recorded once by their
payment id), as after any crash of `runbot` itself.
"""

import contextlib
import itertools
import logging
import multiprocessing
import threading
import time
from concurrent.futures import Future
from multiprocessing.connection import wait

from django.db import close_old_connections

from botapp.process_main import worker_process_main
from shop.services.delivery import delivery_claimer, purchase_release_delivery_claims_of

log = logging.getLogger(__name__)

START_TIMEOUT = 60.0
WATCH_INTERVAL = 0.5
# A worker that dies soon after it started is started again only after a pause (doubling to the
# longest), so a worker that cannot start does not spin; its users' updates wait in the journal.
EARLY_DEATH = 10.0
RESTART_PAUSE = (1.0, 30.0)


class _Worker:
    def __init__(self, process, connection):
        self.process = process
        self.connection = connection  # the poller's end of the worker's pipe
        self.sending = threading.Lock()  # poller threads take turns writing to the pipe
        self.started = time.monotonic()
        self.ready = False


class WorkerProcesses:
    """`count` worker processes with `threads` handler threads each; `handle` blocks until one answers."""

    def __init__(self, count: int, threads: int):
        self.count = count
        self.threads = threads
        self._context = multiprocessing.get_context("spawn")  # no fork: the poller already runs threads
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._in_hand: dict[int, tuple[int, Future]] = {}  # request id -> (worker index, its answer)
        self._workers: list[_Worker | None] = [None] * count
        self._restart_at: dict[int, float] = {}  # worker index -> when to start it again
        self._pauses: dict[int, float] = {}
        self._stopping = threading.Event()
        self._all_ready = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="bot-processes", daemon=True)

    def start(self) -> None:
        for index in range(self.count):
            self._spawn(index)
        self._watcher.start()
        if not self._all_ready.wait(START_TIMEOUT):
            raise RuntimeError("a worker process did not start (see the log above)")

    def _spawn(self, index: int) -> None:
        ours, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=worker_process_main, args=(index, theirs, self.threads), name=f"bot-process-{index}", daemon=True
        )
        process.start()
        theirs.close()  # the worker's end lives in the worker: its death closes the pipe
        self._workers[index] = _Worker(process, ours)

    def handle(self, user, raw: dict) -> bool:
        """Handle one update on its user's process; False if it must be handled again (or its process died)."""
        index = (user if isinstance(user, int) else int(raw.get("update_id", 0))) % self.count
        future: Future = Future()
        with self._lock:
            worker = self._workers[index]
            if self._stopping.is_set() or worker is None:
                return False  # stopping, or the worker is down (started again after a pause)
            request_id = next(self._ids)
            self._in_hand[request_id] = (index, future)
        try:
            with worker.sending:
                worker.connection.send((request_id, raw))
        except (OSError, ValueError):  # the worker is gone: the watcher answers its updates
            log.warning("could not hand update %s to worker process %d", raw.get("update_id"), index)
        return future.result()

    # --- the watcher: answers, deaths, restarts ---

    def _watch(self) -> None:
        while not self._stopping.is_set():
            try:
                self._watch_once()
            except Exception:  # the watcher must go on: every answer passes through it
                log.exception("the worker processes' watcher failed; going on")
                time.sleep(WATCH_INTERVAL)

    def _watch_once(self) -> None:
        self._restart_due()
        live = [(index, worker) for index, worker in enumerate(self._workers) if worker is not None]
        waiting = {worker.connection: index for index, worker in live} | {
            worker.process.sentinel: index for index, worker in live
        }
        for ready in wait(list(waiting), timeout=WATCH_INTERVAL):
            index = waiting[ready]
            worker = self._workers[index]
            if worker is None or self._stopping.is_set():
                continue
            if ready is worker.connection:
                self._read(index, worker)
            elif not worker.process.is_alive():
                self._drain_quietly(worker)  # answers it sent before it died still count
                self._died(index)

    def _read(self, index: int, worker: _Worker) -> None:
        try:
            self._take_answers(worker)
        except (EOFError, OSError, ValueError):  # the pipe broke: the worker died (or is dying)
            if not self._stopping.is_set() and self._workers[index] is worker:
                worker.process.join(1)
                self._died(index)

    def _died(self, index: int) -> None:
        worker = self._workers[index]
        if worker is None:
            return
        log.error("worker process %d died (exit code %s); its updates will be handled again", index, worker.process.exitcode)
        early = time.monotonic() - worker.started < EARLY_DEATH
        with self._lock:
            self._workers[index] = None
            lost = [self._in_hand.pop(rid)[1] for rid, (where, _f) in list(self._in_hand.items()) if where == index]
        worker.connection.close()
        self._release_claims(worker.process.pid)  # before its updates are retried: they deliver at once
        for future in lost:
            future.set_result(False)
        pause = 0.0
        if early:
            pause = self._pauses[index] = min(self._pauses.get(index, RESTART_PAUSE[0] / 2) * 2, RESTART_PAUSE[1])
            log.warning("worker process %d died soon after it started; starting it again in %.0f s", index, pause)
        else:
            self._pauses.pop(index, None)
        self._restart_at[index] = time.monotonic() + pause

    def _restart_due(self) -> None:
        now = time.monotonic()
        for index, when in list(self._restart_at.items()):
            if when <= now and not self._stopping.is_set():
                del self._restart_at[index]
                try:
                    self._spawn(index)
                except Exception:  # e.g. too many open files: try again later
                    log.exception("could not start worker process %d again", index)
                    self._restart_at[index] = now + RESTART_PAUSE[1]

    @staticmethod
    def _release_claims(pid: int) -> None:
        try:
            close_old_connections()
            released = purchase_release_delivery_claims_of(claimer=delivery_claimer(pid))
            if released:
                log.info("released %d delivery claim(s) of the dead worker process", released)
        except Exception:  # the claims then run out on their own (see botapp.recovery)
            log.exception("could not release the delivery claims of a dead worker process")

    # --- stopping ---

    def stop(self, grace: float) -> None:
        """Let the workers finish what they have (up to `grace` seconds in all), then end them."""
        self._stopping.set()
        self._watcher.join(WATCH_INTERVAL * 4)
        workers = [worker for worker in self._workers if worker is not None]
        for worker in workers:
            try:
                with worker.sending:
                    worker.connection.send(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + grace
        for worker in workers:
            while worker.process.is_alive() and time.monotonic() < deadline:
                self._drain_quietly(worker)
                worker.process.join(0.1)
            if worker.process.is_alive():
                log.warning("worker process %s did not stop in time; ending it", worker.process.name)
                worker.process.terminate()
                worker.process.join(5)
            self._drain_quietly(worker)
            worker.connection.close()
        with self._lock:
            futures = [future for _index, future in self._in_hand.values()]
            self._in_hand.clear()
        for future in futures:
            future.set_result(False)

    def _drain_quietly(self, worker: _Worker) -> None:
        """The answers still coming from a worker that stopped or is stopping (the poller waits for them)."""
        with contextlib.suppress(EOFError, OSError, ValueError):  # the pipe broke: nothing more to read
            self._take_answers(worker)

    def _take_answers(self, worker: _Worker) -> None:
        """What the worker has said so far: "ready", or (request id, handled) for a waiting `handle`."""
        while worker.connection.poll():
            message = worker.connection.recv()
            if message == "ready":
                worker.ready = True
                if all(w is not None and w.ready for w in self._workers):
                    self._all_ready.set()
                continue
            request_id, handled = message
            with self._lock:
                entry = self._in_hand.pop(request_id, None)
            if entry is not None:  # None: answered after its process was given up for dead
                entry[1].set_result(bool(handled))

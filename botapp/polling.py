"""Long polling that no update can hold up and that loses none.

The poller fetches the next batch while earlier updates are still being handled (when every worker
already has its next update waiting, it waits up to FETCH_PAUSE for one to be taken, so that under
load batches hold many updates rather than one or two). Each batch is written to a journal in the
database (botapp.models.PolledBatch, one row a batch) before the next getUpdates confirms it to
Telegram, and leaves the journal once all its updates have been handled.
A crash therefore loses nothing: what Telegram no longer holds is in the journal, and the next
start handles it before anything new (an update of such a batch that was handled before the crash
is handled again, as every handler allows: payments are recorded once by their payment id).

Updates of one user run in order, one at a time; different users run in parallel on `workers`
threads and take turns: after each update a user goes to the back of the line, so one customer
flooding the bot holds up nobody else. An update that must be handled again (the Bot API was
down, a payment met a database error) waits out a backoff, and that user's later updates wait
behind it. At most `max_pending` updates wait at once; beyond that the poller stops fetching until
some are done, so memory stays flat under any backlog. With worker processes (`runbot
--processes N`, botapp.processes) the threads hand each update to its user's process and wait for
the answer; everything else here stays as it is.
"""

import heapq
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import requests
from django.db import close_old_connections, connection
from telebot import TeleBot, apihelper
from telebot.apihelper import ApiException, ApiTelegramException
from telebot.types import Update

from botapp.bot import ALLOWED_UPDATES
from botapp.dispatch import must_not_be_lost, parse_update, process_update, update_sender
from botapp.models import PolledBatch
from botapp.processes import WorkerProcesses
from botapp.set_aside import set_aside, set_aside_unreadable, storable_json
from botapp.staff import notify_staff, payment_given_up_alert
from botapp.telegram.errors import retry_after_seconds

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0
# An update the Bot API keeps failing is given up after this many tries; a payment after many more
# (about a quarter of an hour of backoff), with staff alerted to settle it by hand.
MAX_ATTEMPTS = 5
MAX_PAYMENT_ATTEMPTS = 40
MAX_PENDING = 1000  # updates fetched and not yet handled; Telegram sends at most 100 a batch
FETCH_PAUSE = 0.02  # s: how long fetching may wait while every worker has its next update ready


@dataclass
class _Line:
    """One user's updates, oldest first, and whether a worker is on them or they wait out a backoff."""

    updates: deque = field(default_factory=deque)
    busy: bool = False
    waiting_until: float = 0.0


class Poller:
    def __init__(
        self,
        bot: TeleBot,
        *,
        workers: int = 4,
        long_polling_timeout: int = 25,
        max_pending: int = MAX_PENDING,
        processes: WorkerProcesses | None = None,
    ):
        """`processes`: worker processes that handle the updates (botapp.processes); None: this process does.
        With them, `workers` threads per process hand updates over and wait for the answers."""
        self.bot = bot
        self.processes = processes
        self.workers = max(1, workers) * (processes.count if processes else 1)
        self.long_polling_timeout = long_polling_timeout
        self.max_pending = max_pending
        self.offset: int | None = None
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._work_ready = threading.Condition(self._lock)  # a user's turn came, or a backoff changed
        self._room = threading.Condition(self._lock)  # an update was handled or taken: more may be fetched
        self._idle = threading.Condition(self._lock)  # no update in hand
        self._lines: dict[object, _Line] = {}
        self._turns: deque = deque()  # users with an update ready and no worker on them
        self._backoffs: list[tuple[float, int, object]] = []  # (when, tiebreak, user): lines waiting to retry
        self._pending: dict[int, int] = {}  # update id -> its batch, from journal to handled
        self._batch_left: dict[int, int] = {}  # batch -> how many of its updates are not handled yet
        self._in_hand = 0  # updates a worker is handling right now
        self._fetched_at = 0.0  # when the last getUpdates answered (time.monotonic)
        self._attempts: dict[int, int] = {}
        self._threads: list[threading.Thread] = []

    def stop(self) -> None:
        self.stopping.set()
        with self._lock:
            for condition in (self._work_ready, self._room, self._idle):
                condition.notify_all()

    # --- fetching ---

    def run(self) -> None:
        self._threads = [threading.Thread(target=self._work, name=f"bot-worker-{i}", daemon=True) for i in range(self.workers)]
        for thread in self._threads:
            thread.start()
        backoff = 1.0
        while not self.stopping.is_set():  # the journal first: polling before it would fetch its updates again
            try:
                self._resume_journal()
                break
            except Exception:
                log.exception("could not read the journal of updates; trying again in %.0f s", backoff)
                close_old_connections()
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
        try:
            self._poll()
        finally:
            connection.close()

    def _poll(self) -> None:
        backoff = 1.0
        while not self.stopping.is_set():
            if not self._room_for_more():
                continue
            try:
                raw_updates = apihelper.get_updates(
                    self.bot.token,
                    offset=self.offset,
                    timeout=self.long_polling_timeout + 10,
                    allowed_updates=ALLOWED_UPDATES,
                    long_polling_timeout=self.long_polling_timeout,
                )
                self._fetched_at = time.monotonic()
                if not self.stopping.is_set() and raw_updates:
                    self._accept(raw_updates)
                backoff = 1.0
            except ApiTelegramException as exc:
                delay = retry_after_seconds(exc) or backoff
                log.warning("getUpdates failed (%s %s); retrying in %.0f s", exc.error_code, exc.description, delay)
                self.stopping.wait(delay)
                backoff = min(backoff * 2, MAX_BACKOFF)
            except (ApiException, requests.RequestException, ValueError) as exc:
                # unreachable, a proxy's HTML error page, a garbled answer
                log.warning("getUpdates failed (%s); retrying in %.0f s", exc.__class__.__name__, backoff)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            except Exception:  # the journal could not be written, or anything else: polling must go on
                log.exception("getUpdates failed; retrying in %.0f s", backoff)
                close_old_connections()
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)

    def _room_for_more(self) -> bool:
        """Wait (a little) while `max_pending` updates are waiting, or, for at most FETCH_PAUSE after the
        last batch came, while users enough for every worker have an update ready; True when more may be
        fetched.

        In the second case every worker has its next update waiting already, so the next batch is
        fetched when a worker takes one, or once the pause is over: under load a batch then holds many
        updates rather than one or two, and each batch costs a getUpdates and a journal row. The pause
        is short and bounded because users with a backlog keep the ready turns full: a newcomer's first
        update waits at most FETCH_PAUSE longer to be fetched, then takes its turn among theirs."""
        with self._lock:
            if len(self._pending) >= self.max_pending:
                self._room.wait(0.5)
                return False
            paused = time.monotonic() - self._fetched_at
            if len(self._turns) < self.workers or paused >= FETCH_PAUSE:
                return True
            self._room.wait(FETCH_PAUSE - paused)
        return False

    def _accept(self, raw_updates: list[dict]) -> None:
        """Journal a batch, then queue it; only then may the next getUpdates confirm it to Telegram.

        An update the library cannot read is set aside (botapp.set_aside) and counts as handled.
        """
        close_old_connections()
        highest = max(int(raw["update_id"]) for raw in raw_updates)
        with self._lock:
            fresh = [raw for raw in raw_updates if int(raw["update_id"]) not in self._pending]
        readable = []
        for raw in fresh:
            try:
                readable.append((parse_update(raw), raw))
            except Exception as exc:
                set_aside_unreadable(self.bot, raw, exc)
        if readable:
            batch = PolledBatch.objects.create(last_update_id=highest, updates=[storable_json(raw) for _update, raw in readable])
            self._queue(batch.pk, readable)
        self.offset = highest + 1

    def _resume_journal(self) -> None:
        """Batches confirmed to Telegram but not all handled when the last process stopped: first in line."""
        close_old_connections()
        resumed = 0
        for batch in PolledBatch.objects.order_by("id"):
            readable = []
            for raw in batch.updates:
                try:
                    readable.append((parse_update(raw), raw))
                except Exception as exc:
                    set_aside_unreadable(self.bot, raw, exc)
            queued = self._queue(batch.pk, readable)
            if not queued:  # nothing readable, or all of it lined up under another batch already
                batch.delete()
            resumed += queued
            # Telegram was told about everything up to here: the first poll must not fetch it again.
            self.offset = max(self.offset or 0, batch.last_update_id + 1)
        if resumed:
            log.info("Handling %d update(s) left from the last run.", resumed)

    def _queue(self, batch: int, updates: list[tuple[Update, dict]]) -> int:
        """Line up a batch's updates (each with its raw form) behind their users' earlier ones; returns how many were new."""
        queued = turns = 0
        with self._lock:
            for update, raw in sorted(updates, key=lambda pair: pair[0].update_id):
                if update.update_id in self._pending:
                    continue  # Telegram sent it again before it was confirmed
                sender = update_sender(update)
                user = getattr(sender, "id", None) or ("update", update.update_id)
                self._pending[update.update_id] = batch
                queued += 1
                line = self._lines.setdefault(user, _Line())
                line.updates.append((update, raw))
                if len(line.updates) == 1 and not line.busy and not line.waiting_until:
                    self._turns.append(user)
                    turns += 1
            if queued:
                self._batch_left[batch] = self._batch_left.get(batch, 0) + queued
            self._work_ready.notify(turns)
        return queued

    # --- handling ---

    def _work(self) -> None:
        try:
            while (taken := self._take()) is not None:
                user, (update, raw) = taken
                self._done(user, update, self._handle(user, update, raw))
        finally:
            connection.close()  # this thread's own connection: nobody else would close it

    def _take(self) -> tuple[object, tuple[Update, dict]] | None:
        """The next user's oldest update (waiting for one); None once stopping."""
        with self._lock:
            while not self.stopping.is_set():
                self._wake_backoffs()
                if self._turns:
                    user = self._turns.popleft()
                    if len(self._turns) == self.workers - 1:
                        self._room.notify()  # the poller waits for fewer ready turns than workers
                    line = self._lines[user]
                    line.busy = True
                    self._in_hand += 1
                    return user, line.updates[0]
                timeout = self._backoffs[0][0] - time.monotonic() if self._backoffs else None
                self._work_ready.wait(timeout)
            return None

    def _wake_backoffs(self) -> None:
        now, woken = time.monotonic(), 0
        while self._backoffs and self._backoffs[0][0] <= now:
            _when, _tiebreak, user = heapq.heappop(self._backoffs)
            self._lines[user].waiting_until = 0.0
            self._turns.append(user)
            woken += 1
        if woken > 1:
            self._work_ready.notify(woken - 1)  # this worker takes one; others for the rest

    def _handle(self, user, update: Update, raw: dict) -> bool:
        """Handle one update; False if it must be handled again."""
        try:
            close_old_connections()
            handled = self.processes.handle(user, raw) if self.processes else process_update(self.bot, update)
        except Exception:  # e.g. the database is gone: the update stays in the journal
            log.exception("update %s could not be processed", update.update_id)
            handled = False
        if not handled:
            attempts = self._attempts[update.update_id] = self._attempts.get(update.update_id, 0) + 1
            if not must_not_be_lost(update) and attempts >= MAX_ATTEMPTS:
                log.error("giving up update %s after %d attempts", update.update_id, attempts)
                handled = True
            elif attempts >= MAX_PAYMENT_ATTEMPTS:
                # Something is badly wrong (a bug, the database gone for long): a human takes over
                # rather than every later update of this customer waiting behind this one.
                log.critical("giving up payment update %s after %d attempts", update.update_id, attempts)
                handled = self._keep_for_staff(raw, attempts)  # kept before it leaves the journal
                if handled:
                    notify_staff(self.bot, payment_given_up_alert(update))
        if handled:
            self._attempts.pop(update.update_id, None)
        return handled

    def _keep_for_staff(self, raw: dict, attempts: int) -> bool:
        """A payment given up is kept (SetAsideUpdate) before it leaves the journal; False if that failed too."""
        try:
            set_aside(self.bot, raw, error=f"payment not handled after {attempts} attempts", alert=False)
        except Exception:
            log.exception("could not set update %s aside; it stays in the journal", raw.get("update_id"))
            return False
        return True

    def _done(self, user, update: Update, handled: bool) -> None:
        finished_batch = None
        with self._lock:
            line = self._lines[user]
            line.busy = False
            self._in_hand -= 1
            if handled:
                line.updates.popleft()
                batch = self._pending.pop(update.update_id)
                self._batch_left[batch] -= 1
                if not self._batch_left[batch]:
                    del self._batch_left[batch]
                    finished_batch = batch
                if not line.updates:
                    del self._lines[user]
                else:
                    self._turns.append(user)  # the back of the line: others take their turn first
            else:
                delay = min(2.0 ** (self._attempts[update.update_id] - 1), MAX_BACKOFF)
                log.warning("update %s must be handled again; retrying in %.0f s", update.update_id, delay)
                line.waiting_until = time.monotonic() + delay
                heapq.heappush(self._backoffs, (line.waiting_until, update.update_id, user))
            self._work_ready.notify()  # the user's next turn, or a waiting worker's new timeout
            if handled and len(self._pending) == self.max_pending - 1:
                self._room.notify()  # below max_pending again (a fetch waiting for a free worker is woken in _take)
            if not self._in_hand:
                self._idle.notify_all()
        if finished_batch is not None:
            try:
                PolledBatch.remove(finished_batch)
            except Exception:  # the batch is handled again after a restart, which every handler allows
                log.exception("could not take batch %s off the journal", finished_batch)
        try:
            close_old_connections()
        except Exception:  # a worker must not die of it: its user's line would stay busy for good
            log.exception("could not recycle the database connection")

    # --- stopping ---

    def confirm_processed(self) -> None:
        """Tell Telegram the fetched updates are ours (they are journaled), so a restart does not repeat them."""
        if self.offset is None:
            return
        try:
            apihelper.get_updates(self.bot.token, offset=self.offset, limit=1, timeout=5, long_polling_timeout=1)
        except Exception as exc:  # shutting down: a repeat after restart finds them journaled
            log.info("could not confirm fetched updates on shutdown: %s", exc)

    def shutdown(self, grace: float) -> bool:
        """Stop polling; let the updates in hand finish (up to `grace` seconds); confirm what was fetched.

        Updates fetched but not begun stay in the journal for the next start. A long poll in flight
        is simply abandoned: what it returns was never confirmed. Returns False if an update was still
        being handled when the grace period ended.
        """
        self.stop()
        deadline = time.monotonic() + grace
        with self._lock:
            while self._in_hand and time.monotonic() < deadline:
                self._idle.wait(deadline - time.monotonic())
            finished = not self._in_hand
        self.confirm_processed()
        return finished

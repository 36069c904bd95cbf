"""Long polling with no lost updates.

A batch is processed completely before the next getUpdates call confirms it (Telegram
confirms everything below the offset it is sent). A crash mid-batch therefore means the
batch comes again, never that it is lost. Within a batch, updates of one user run in
order on one worker; different users run in parallel.
"""

import logging
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, wait

import requests
from django.db import close_old_connections
from telebot import TeleBot, apihelper
from telebot.apihelper import ApiException, ApiTelegramException
from telebot.types import Update

from botapp.bot import ALLOWED_UPDATES
from botapp.dispatch import must_not_be_lost, process_update, update_sender
from botapp.staff import notify_staff, payment_given_up_alert
from botapp.telegram.errors import retry_after_seconds
from botapp.unreadable import parse_update, set_aside

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0
# An update the Bot API keeps failing is given up after this many tries; a payment after many more
# (about a quarter of an hour of backoff), with staff alerted to settle it by hand.
MAX_ATTEMPTS = 5
MAX_PAYMENT_ATTEMPTS = 40


class Poller:
    def __init__(self, bot: TeleBot, *, workers: int = 4, long_polling_timeout: int = 25):
        self.bot = bot
        self.workers = max(1, workers)
        self.long_polling_timeout = long_polling_timeout
        self.offset: int | None = None
        self.stopping = threading.Event()
        self._batch = threading.Lock()  # held while a batch is processed
        self._attempts: dict[int, int] = {}
        self._handled: set[int] = set()  # handled, but not yet confirmed to Telegram

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        backoff = 1.0
        with ThreadPoolExecutor(self.workers, thread_name_prefix="bot-worker") as pool:
            while not self.stopping.is_set():
                try:
                    updates, highest = self._fetch()
                    backoff = 1.0
                except ApiTelegramException as exc:
                    delay = retry_after_seconds(exc) or backoff
                    log.warning("getUpdates failed (%s %s); retrying in %.0f s", exc.error_code, exc.description, delay)
                    self.stopping.wait(delay)
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    continue
                except (ApiException, requests.RequestException, ValueError) as exc:
                    # unreachable, a proxy's HTML error page, a garbled answer
                    log.warning("getUpdates failed (%s); retrying in %.0f s", exc.__class__.__name__, backoff)
                    self.stopping.wait(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    continue
                except Exception:  # whatever it is, polling must go on
                    log.exception("getUpdates failed; retrying in %.0f s", backoff)
                    self.stopping.wait(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    continue
                with self._batch:
                    if self.stopping.is_set() or highest is None:
                        continue  # unprocessed updates stay unconfirmed and come again next time
                    unfinished = self._process_batch(pool, updates) if updates else None
                    if unfinished is None:
                        self.offset = highest + 1
                        self._handled.clear()
                        continue
                    # Confirm only what comes before it: it (and what follows) is fetched again,
                    # and what was handled after it is skipped then.
                    self.offset = unfinished
                    self._handled = {i for i in self._handled if i >= unfinished}
                    log.warning("update %s must be handled again; retrying in %.0f s", unfinished, backoff)
                    self.stopping.wait(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)

    def _fetch(self) -> tuple[list[Update], int | None]:
        """The next batch, each update read on its own: one the library cannot read is set aside
        (botapp.unreadable) and counts as handled, so it never holds up the others. Also returns the
        highest update id fetched (None: nothing came)."""
        raw_updates = apihelper.get_updates(
            self.bot.token,
            offset=self.offset,
            timeout=self.long_polling_timeout + 10,
            allowed_updates=ALLOWED_UPDATES,
            long_polling_timeout=self.long_polling_timeout,
        )
        updates, highest = [], None
        for raw in raw_updates:
            update_id = int(raw["update_id"])
            highest = update_id if highest is None else max(highest, update_id)
            if update_id in self._handled:
                continue
            try:
                updates.append(parse_update(raw))
            except Exception as exc:
                set_aside(self.bot, raw, exc)
                self._handled.add(update_id)
        return updates, highest

    def _process_batch(self, pool: ThreadPoolExecutor, updates: list[Update]) -> int | None:
        """Process a batch; the id of the first update that must be handled again, if any."""
        by_sender: dict[object, list[Update]] = defaultdict(list)
        fresh = [u for u in updates if u.update_id not in self._handled]
        for update in sorted(fresh, key=lambda u: u.update_id):
            sender = update_sender(update)
            by_sender[getattr(sender, "id", None) or ("update", update.update_id)].append(update)
        futures = [pool.submit(self._process_in_order, group) for group in by_sender.values()]
        wait(futures)
        unfinished = [f.result() for f in futures if f.result() is not None]
        return min(unfinished) if unfinished else None

    def _process_in_order(self, updates: list[Update]) -> int | None:
        """One user's updates in order; stops at one that must be handled again and returns its id."""
        for update in updates:
            try:
                close_old_connections()
                handled = process_update(self.bot, update)
                close_old_connections()
            except Exception:  # e.g. the database is gone: nothing of this user's is confirmed
                log.exception("update %s could not be processed", update.update_id)
                handled = False
            if not handled:
                attempts = self._attempts[update.update_id] = self._attempts.get(update.update_id, 0) + 1
                if not must_not_be_lost(update) and attempts >= MAX_ATTEMPTS:
                    log.error("giving up update %s after %d attempts", update.update_id, attempts)
                    handled = True
                elif attempts >= MAX_PAYMENT_ATTEMPTS:
                    # Something is badly wrong (a bug, the database gone for long): a human takes over
                    # rather than every later update waiting behind this one.
                    log.critical("giving up payment update %s after %d attempts", update.update_id, attempts)
                    notify_staff(self.bot, payment_given_up_alert(update))
                    handled = True
            if not handled:
                return update.update_id
            self._attempts.pop(update.update_id, None)
            self._handled.add(update.update_id)
        return None

    def confirm_processed(self) -> None:
        """Tell Telegram the processed updates are done, so a restart does not repeat them."""
        if self.offset is None:
            return
        try:
            apihelper.get_updates(self.bot.token, offset=self.offset, limit=1, timeout=5, long_polling_timeout=1)
        except Exception as exc:  # shutting down: a repeat after restart is harmless
            log.info("could not confirm processed updates on shutdown: %s", exc)

    def shutdown(self, grace: float) -> bool:
        """Stop polling; let a batch in progress finish (up to `grace` seconds) and confirm it.

        A long poll in flight is simply abandoned: what it returns was never confirmed.
        Returns False if a batch was still running when the grace period ended.
        """
        self.stop()
        finished = self._batch.acquire(timeout=grace)
        if finished:
            self.confirm_processed()
            self._batch.release()
        return finished

"""The entry point of a worker process of `runbot --processes N` (see botapp.processes).

A spawned process starts from nothing: this module imports no Django model at its top, because
the process has to set Django up first; the bot's modules are imported once it has.
"""

import logging
import multiprocessing
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import wait

log = logging.getLogger("botapp.processes")


def worker_process_main(index: int, connection, threads: int) -> None:
    """A worker process: read (request id, raw update) from its pipe until None (or the poller is gone),
    handle each on a thread, answer (request id, handled) on the same pipe."""
    # Ctrl-C and SIGTERM reach the whole process group: the poller decides when its workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    import django

    django.setup()
    # Only now can the bot's modules be imported (they define and use models).
    from django.db import close_old_connections, connections

    from botapp.bot import create_bot
    from botapp.dispatch import parse_update, process_update

    bot = create_bot()
    # If the poller is killed outright, its workers must not live on without it.
    parent = multiprocessing.parent_process()
    threading.Thread(target=_exit_with, args=(parent.sentinel,), name="bot-process-parent", daemon=True).start()

    sending = threading.Lock()  # the handler threads take turns writing to the pipe

    def answer(message) -> None:
        try:
            with sending:
                connection.send(message)
        except (OSError, ValueError):  # the poller is gone: the journal has the update
            log.warning("could not answer the poller (worker process %d)", index)

    def handle(request_id: int, raw: dict) -> None:
        handled = False
        try:
            close_old_connections()
            handled = process_update(bot, parse_update(raw))
        except Exception:
            log.exception("update %s could not be processed (worker process %d)", raw.get("update_id"), index)
        finally:
            try:
                close_old_connections()
            except Exception:
                log.exception("could not recycle the database connection")
            answer((request_id, handled))

    pool = ThreadPoolExecutor(threads, thread_name_prefix=f"bot-process-{index}")
    log.info("worker process %d started (pid %d)", index, os.getpid())
    answer("ready")
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):  # the poller is gone
            break
        if request is None:
            break
        pool.submit(handle, *request)
    pool.shutdown(wait=True)
    connections.close_all()


def _exit_with(parent_sentinel) -> None:
    wait([parent_sentinel])
    os._exit(1)

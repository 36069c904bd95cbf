"""Running code on several threads at once, as several workers (or customers) would."""

import threading
from collections.abc import Callable

from django.db import connection


def run_at_once(work: Callable[[int], object], count: int) -> list:
    """Run `work(i)` for i in 0..count-1, each on its own thread, released together; their results in order.

    Each thread connects to the database before the start (so they really start together) and
    closes its own connection at the end. Any exception in a thread fails the caller.
    """
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def run(i: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"
    assert errors == [], errors
    return results

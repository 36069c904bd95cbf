"""Search at scale: a search typed in the bot, its next page, and inline queries (words, and the best sellers
of an empty query) with 10 and 10 000 products on sale: milliseconds per update through the bot (median and
fastest of REPEAT) and the queries of one, transaction statements aside. "rare" finds 3 products at any
size, "common" a tenth of the catalog. The one-in-fifty sweep of week-old searches that a search can
also make (one DELETE) is turned off, so the queries shown are a search's own. Run on its own
(`python bench/search.py`: a temporary SQLite database) or with DATABASE_URL set and `--migrate`;
prints JSON."""

import itertools
import json
import statistics
import time

from bootstrap import database_of_its_own, setup_django

MIGRATE = database_of_its_own("search")

setup_django()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from telebot.types import Update  # noqa: E402

from botapp import callbacks  # noqa: E402
from botapp.bot import create_bot  # noqa: E402
from botapp.dispatch import process_update  # noqa: E402
from botapp.testing import updates  # noqa: E402
from botapp.testing.fake_bot_api import FakeBotAPI  # noqa: E402
from shop.models import Category, Product  # noqa: E402
from shop.search import services as search_services  # noqa: E402
from shop.search.services import saved_search_keep, search_index_missing  # noqa: E402
from shop.services.catalog import catalog_changed  # noqa: E402

search_services.SWEEP_CHANCE = 0  # see above: by chance, one measured search in fifty showed a query more
SIZES = (10, 10_000)
REPEAT = 15
CUSTOMERS = itertools.count(9001)  # a customer per update: flood control is not what is measured
WORDS = ["ключ", "курс", "licence", "guide", "подписка", "template", "шаблон", "account", "книга", "course"]


def _transaction(sql: str) -> bool:
    return sql.split(" ", 1)[0] in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK")


def measure(make_update, api: FakeBotAPI) -> dict:
    """Median milliseconds of REPEAT updates through the bot (fake Bot API over HTTP), and one's queries."""
    bot = create_bot()
    timings, queries = [], 0
    for _ in range(REPEAT):
        update = make_update()
        api.note(update)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            assert process_update(bot, Update.de_json(update))
            timings.append((time.perf_counter() - started) * 1000)
        queries = sum(not _transaction(q["sql"]) for q in captured)
    return {"ms": round(statistics.median(timings), 2), "min_ms": round(min(timings), 2), "queries": queries}


def fill(category: Category, size: int, made: int) -> None:
    """Products up to `size`, in bulk (then indexed as `manage.py search_index` does); 3 of them "rare"."""
    Product.objects.bulk_create(
        Product(
            category=category,
            name=f"{WORDS[i % len(WORDS)].title()} {i:05d}" + (" Единорог" if i < 3 else ""),
            description=f"<b>{WORDS[(i * 7) % len(WORDS)]}</b> for everyone, номер {i}. " * 4,
            price=10 + i % 90,
            hidden_content=f"KEY-{i}",
        )
        for i in range(made, size)
    )
    search_index_missing()
    catalog_changed()


def user() -> dict:
    return updates.tg_user(next(CUSTOMERS))


def figures(api: FakeBotAPI) -> list[dict]:
    settings.TELEGRAM_API_URL, settings.TELEGRAM_BOT_TOKEN = api.url, api.token
    category = Category.objects.create(category_name="Search bench")
    rows, made = [], 0
    for size in SIZES:
        started = time.perf_counter()
        fill(category, size, made)
        indexing = time.perf_counter() - started
        made = size
        key, _text = saved_search_keep(text="ключ")
        rows.append(
            {
                "products": size,
                "fill_and_index_s": round(indexing, 2),
                "search rare": measure(lambda: updates.message(user(), "ЕДИНОРОГ"), api),
                "search common": measure(lambda: updates.message(user(), "ключ"), api),
                "next page": measure(lambda key=key: updates.callback(user(), callbacks.search_page(key, 2)), api),
                "nothing found": measure(lambda: updates.message(user(), "zzzz"), api),
                "inline words": measure(lambda: updates.inline_query(user(), "course"), api),
                "inline best sellers": measure(lambda: updates.inline_query(user(), ""), api),
            }
        )
    return rows


if __name__ == "__main__":
    if MIGRATE:
        call_command("migrate", verbosity=0)
    with FakeBotAPI() as fake:
        print(json.dumps({"database": connection.vendor, "search": figures(fake)}, ensure_ascii=False))

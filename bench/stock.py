"""Stock at scale: importing 100 000 units from a file (seconds, peak memory), and selling units with
10, 10 000 and 1 000 000 units in stock (milliseconds per payment recorded with its 2 units; queries
touching the stock, and all of the payment's, transaction statements aside). Run by bench/run.py
with DATABASE_URL set (or on its own: `python bench/stock.py`, a temporary SQLite database); prints JSON."""

import json
import os
import resource
import statistics
import tempfile
import time
import tracemalloc

from bootstrap import database_of_its_own, setup_django

MIGRATE = database_of_its_own("stock")

setup_django()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from shop.invoices import InvoiceTerms, invoice_payload  # noqa: E402
from shop.models import Category, Product, User  # noqa: E402
from shop.services.payments import purchase_record_payment  # noqa: E402
from shop.stock.models import StockUnit  # noqa: E402
from shop.stock.services import lines_from_file, stock_add  # noqa: E402

IMPORT_LINES = 100_000
SIZES = (10, 10_000, 1_000_000)
PURCHASES = 15  # per size; the median is printed


def import_figures(product: Product) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as file:
        for n in range(IMPORT_LINES):
            file.write(f"XXXX-{n:08d}-YYYY-ZZZZ\n")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with open(file.name, "rb") as upload:
        report = stock_add(product=product, lines=lines_from_file(upload))
    seconds = time.perf_counter() - started
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    # again, into another product, under tracemalloc (slower): the peak of Python's own allocations
    other = Product.objects.create(category=product.category, name="Imported again", price=5, sells_units=True)
    tracemalloc.start()
    with open(file.name, "rb") as upload:
        stock_add(product=other, lines=lines_from_file(upload))
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    os.unlink(file.name)
    assert report.added == IMPORT_LINES, report
    return {
        "lines": IMPORT_LINES,
        "seconds": round(seconds, 2),
        "python_peak_mb": round(peak / 2**20, 1),
        "rss_growth_mb": round(rss_growth / 1024, 1),
    }


def _transaction(sql: str) -> bool:
    return sql.split(" ", 1)[0] in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK")


def fill(product: Product, unsold: int) -> None:
    """Unsold units up to `unsold`, inserted by the database itself (a million rows in seconds)."""
    missing = unsold - StockUnit.objects.filter(product=product, purchase__isnull=True).count()
    if missing <= 0:
        return
    first = (StockUnit.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    table = StockUnit._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {table} (product_id, content, content_hash, file_id, created_at, reservation) "
                "SELECT %s, 'UNIT-' || n, md5('u' || n), '', now(), '' FROM generate_series(%s, %s) AS n",
                [product.pk, first, first + missing - 1],
            )
        else:
            cursor.execute(
                f"WITH RECURSIVE n(x) AS (SELECT %s UNION ALL SELECT x + 1 FROM n WHERE x < %s) "
                f"INSERT INTO {table} (product_id, content, content_hash, file_id, created_at, reservation) "
                "SELECT %s, 'UNIT-' || x, 'h' || x, '', datetime('now'), '' FROM n",
                [first, first + missing - 1, product.pk],
            )


def allocation_figures(product: Product) -> list[dict]:
    """Each purchase of 2 units made with exactly `size` units unsold."""
    buyers = User.objects.bulk_create(User(telegram_id=70_000_000 + n) for n in range(len(SIZES) * PURCHASES))
    rows = []
    for size_index, size in enumerate(SIZES):
        timings, queries = [], []
        for n in range(PURCHASES):
            fill(product, size)
            buyer = buyers[size_index * PURCHASES + n]
            payload = invoice_payload(InvoiceTerms(buyer.telegram_id, product.pk, product.price, "XTR", 2))
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                outcome = purchase_record_payment(
                    user=buyer, payload=payload, currency="XTR", total_amount=product.price * 2, payment_id=f"b-{size}-{n}"
                )
                timings.append((time.perf_counter() - started) * 1000)
            assert not outcome.out_of_stock and outcome.purchase.units.count() == 2, outcome.purchase.review_reason
            queries.append(
                (sum("stock_stockunit" in q["sql"] for q in captured), sum(not _transaction(q["sql"]) for q in captured))
            )
        rows.append(
            {
                "units": size,
                "ms": round(statistics.median(timings), 2),
                "stock_queries": max(q[0] for q in queries),
                "payment_queries": max(q[1] for q in queries),
            }
        )
    return rows


if __name__ == "__main__":
    if MIGRATE:
        call_command("migrate", verbosity=0)
    category = Category.objects.create(category_name="Stock bench")
    imported = Product.objects.create(category=category, name="Imported", price=5, sells_units=True)
    sold = Product.objects.create(category=category, name="Sold", price=5, sells_units=True, max_per_order=10)
    print(json.dumps({"allocation": allocation_figures(sold), "import": import_figures(imported)}))

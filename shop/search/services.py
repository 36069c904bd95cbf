"""Writes of search: each product's search row, and the queries customers page through."""

import hashlib
import random
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from shop.models import Product
from shop.search.models import ProductSearch, SavedSearch
from shop.search.words import fold, product_text, query_clean

# PostgreSQL's "russian" configuration stems Cyrillic words as Russian and Latin ones as English.
FULL_TEXT_CONFIG = "russian"
KEEP_SEARCHES = timedelta(days=7)
SWEEP_CHANCE = 0.02  # about one new search in fifty sweeps out the old ones: no scheduler needed


def full_text_enabled() -> bool:
    return connection.vendor == "postgresql"


def product_search_index(*, product: Product) -> None:
    """The product's search row made to match its name and description now."""
    ProductSearch.objects.update_or_create(
        product_id=product.pk,
        defaults={"name": fold(product.name), "text": product_text(name=product.name, description=product.description)},
    )
    _full_text_documents([product.pk])


def _full_text_documents(product_ids: list[int]) -> None:
    """PostgreSQL: the products' full-text documents, name weighted A, description B (HTML tags and entities are
    skipped by PostgreSQL's own parser)."""
    if not full_text_enabled() or not product_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {ProductSearch._meta.db_table} AS s SET document = "
            "setweight(to_tsvector(%s::regconfig, p.name), 'A') || "
            "setweight(to_tsvector(%s::regconfig, p.description), 'B') "
            f"FROM {Product._meta.db_table} AS p WHERE p.id = s.product_id AND s.product_id = ANY(%s)",
            [FULL_TEXT_CONFIG, FULL_TEXT_CONFIG, list(product_ids)],
        )


def product_search_index_saved(sender, instance: Product, update_fields=None, **_signal) -> None:
    """post_save of a product: reindexed unless the save touched neither its name nor its description."""
    if update_fields is not None and not {"name", "description"} & set(update_fields):
        return
    product_search_index(product=instance)


BATCH = 500


def search_index_missing() -> int:
    """Index the products that have no search row (added by bulk writes, which send no signal); returns how many."""
    count = 0
    while True:
        batch = list(Product.objects.filter(search__isnull=True).order_by("id").values_list("id", "name", "description")[:BATCH])
        if not batch:
            return count
        with transaction.atomic():
            ProductSearch.objects.bulk_create(
                [
                    ProductSearch(product_id=pk, name=fold(name), text=product_text(name=name, description=description))
                    for pk, name, description in batch
                ],
                ignore_conflicts=True,  # indexed meanwhile by a save
            )
            _full_text_documents([pk for pk, _name, _description in batch])
        count += len(batch)


def search_index_rebuild() -> int:
    """Every product reindexed (after a change of how text is folded); returns how many."""
    count = 0
    for product in Product.objects.only("id", "name", "description").iterator(chunk_size=BATCH):
        product_search_index(product=product)
        count += 1
    return count


def saved_search_key(text: str) -> int:
    """The key of a cleaned query: from its hash, so saving needs no read; positive, at most 48 bits."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16) or 1


def saved_search_keep(*, text: str) -> tuple[int, str]:
    """Keep a customer's query for the pages of its results; returns (key, the query as kept).

    One statement: a query already kept is left as it is (a key shared by two texts, once in
    billions, shows the first one's results on the pages after the first).
    """
    text = query_clean(text)
    key = saved_search_key(text)
    SavedSearch.objects.bulk_create([SavedSearch(key=key, text=text)], ignore_conflicts=True)
    if random.random() < SWEEP_CHANCE:
        saved_search_forget_old()
    return key, text


def saved_search_forget_old() -> int:
    """Queries older than KEEP_SEARCHES forgotten (customers' words are kept no longer than needed)."""
    return SavedSearch.objects.filter(created_at__lt=timezone.now() - KEEP_SEARCHES).delete()[0]

"""Reads of search: products on sale matching a customer's words, best first; best sellers; kept queries."""

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL

from shop.models import Product, Purchase
from shop.search.models import SavedSearch
from shop.search.services import FULL_TEXT_CONFIG, full_text_enabled
from shop.search.words import query_words

BEST_SELLERS_CACHE_SECONDS = 300
BEST_SELLERS_MAX = 200
SQLITE_FTS = "search_productsearch_fts"  # created by the migration, on SQLite only


def _on_sale() -> QuerySet[Product]:
    # What the catalog lists (shop.selectors.catalog): products on sale, in any category.
    return Product.objects.filter(is_active=True)


def _ranked(matches: QuerySet[Product], words: list[str]) -> QuerySet[Product]:
    """More of the words in the name first, then by name."""
    in_name = [Case(When(search__name__contains=word, then=Value(1)), default=Value(0)) for word in words]
    return matches.annotate(rank=sum(in_name[1:], in_name[0])).order_by("-rank", "name", "id")


def _plain(words: list[str]) -> QuerySet[Product]:
    """Every word somewhere in the folded name or description (a substring: "indows" finds Windows)."""
    matches = _on_sale()
    for word in words:
        matches = matches.filter(search__text__contains=word)
    return _ranked(matches, words)


def _full_text(words: list[str]) -> QuerySet[Product]:
    """PostgreSQL: every word as a prefix of a stemmed word (Russian or English), ranked by ts_rank (the
    name weighs more than the description); served by the GIN index."""
    # `words` are letters and digits only, so the raw tsquery cannot be malformed.
    query = SearchQuery(" & ".join(f"{word}:*" for word in words), search_type="raw", config=FULL_TEXT_CONFIG)
    return (
        _on_sale()
        .filter(search__document=query)
        .annotate(rank=SearchRank(F("search__document"), query))
        .order_by("-rank", "name", "id")
    )


TRIGRAM = 3  # the shortest word SQLite's trigram index can find


def _sqlite_indexed(words: list[str]) -> QuerySet[Product]:
    """SQLite: every word anywhere in the folded name or description ("indows" finds Windows), the words of 3
    characters or more through the trigram index, shorter ones then among what it found; ranked as _plain."""
    indexed = [word for word in words if len(word) >= TRIGRAM]
    # `words` are letters and digits only, quoted: nothing FTS5 could read as its syntax.
    match = " AND ".join(f'"{word}"' for word in indexed)
    matches = _on_sale().filter(id__in=RawSQL(f"SELECT rowid FROM {SQLITE_FTS} WHERE {SQLITE_FTS} MATCH %s", [match]))
    for word in words:
        if len(word) < TRIGRAM:
            matches = matches.filter(search__text__contains=word)
    return _ranked(matches, words)


def _strategies(words: list[str]) -> list[QuerySet[Product]]:
    """The ways to search, in order, each tried when the one before found nothing. An index serves the first,
    so a search costs about the same whatever the catalog's size: PostgreSQL's full text (word stems, Russian
    and English), then a plain match for what it misses (a word inside another, a stop word...), which reads
    every product's row; SQLite's trigram index finds what the plain match would. Words all shorter than 3
    characters, or another database: the plain match alone."""
    if not words:
        return []
    if full_text_enabled():
        return [_full_text(words), _plain(words)]
    if connection.vendor == "sqlite" and any(len(word) >= TRIGRAM for word in words):
        return [_sqlite_indexed(words)]
    return [_plain(words)]


def product_search(*, text: str) -> QuerySet[Product]:
    """Products on sale whose name or description has every word of `text` (any case, Russian or English),
    best first (see _strategies)."""
    strategies = _strategies(query_words(text))
    for found in strategies[:-1]:
        if found.exists():
            return found
    return strategies[-1] if strategies else Product.objects.none()


def product_search_page(*, text: str, number: int, per_page: int, fields: tuple[str, ...] = ()) -> Page:
    """Page `number` (out of range: the nearest) of product_search(text), counting once per strategy tried;
    `fields`: the only ones loaded, if given."""
    strategies = _strategies(query_words(text)) or [Product.objects.none()]
    for found in strategies:
        page = Paginator(found.only(*fields) if fields else found, per_page).get_page(number)
        if page.paginator.count:
            return page
    return page


def product_best_sellers() -> QuerySet[Product]:
    """Products on sale, the most bought first (the ranking is cached a few minutes: it counts every
    purchase but test ones, staff trying the bot)."""
    ids = cache.get("search:best_sellers")
    if ids is None:
        ids = list(
            _on_sale()
            .annotate(
                sold=Count(
                    "purchases",
                    filter=Q(purchases__status=Purchase.Status.PAID) & ~Q(purchases__payment_type=Purchase.PaymentType.TEST),
                )
            )
            .order_by("-sold", "name", "id")
            .values_list("id", flat=True)[:BEST_SELLERS_MAX]
        )
        cache.set("search:best_sellers", ids, BEST_SELLERS_CACHE_SECONDS)
    if not ids:
        return Product.objects.none()
    order = Case(*[When(id=pk, then=Value(n)) for n, pk in enumerate(ids)], output_field=IntegerField())
    return _on_sale().filter(id__in=ids).annotate(place=order).order_by("place")


def saved_search_text(*, key: int) -> str | None:
    """The query kept under `key`, or None once forgotten."""
    return SavedSearch.objects.filter(key=key).values_list("text", flat=True).first()

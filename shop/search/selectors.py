"""Reads of search: products on sale matching a customer's words, best first; best sellers; kept queries."""

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.cache import cache
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When

from shop.models import Product, Purchase
from shop.search.models import SavedSearch
from shop.search.services import FULL_TEXT_CONFIG, full_text_enabled
from shop.search.words import query_words

BEST_SELLERS_CACHE_SECONDS = 300
BEST_SELLERS_MAX = 200


def _on_sale() -> QuerySet[Product]:
    # What the catalog lists (shop.selectors.catalog): products on sale, in any category.
    return Product.objects.filter(is_active=True)


def _plain(words: list[str]) -> QuerySet[Product]:
    """Every word somewhere in the folded name or description; more of the words in the name ranks higher."""
    matches = _on_sale()
    for word in words:
        matches = matches.filter(search__text__contains=word)
    in_name = [Case(When(search__name__contains=word, then=Value(1)), default=Value(0)) for word in words]
    rank = sum(in_name[1:], in_name[0])
    return matches.annotate(rank=rank).order_by("-rank", "name", "id")


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


def product_search(*, text: str) -> QuerySet[Product]:
    """Products on sale whose name or description has every word of `text` (any case, Russian or English),
    best first. PostgreSQL searches its full-text index first and falls back to a plain match when that finds
    nothing (a word inside another, a stop word...)."""
    words = query_words(text)
    if not words:
        return Product.objects.none()
    if full_text_enabled():
        found = _full_text(words)
        if found.exists():
            return found
    return _plain(words)


def product_best_sellers() -> QuerySet[Product]:
    """Products on sale, the most bought first (the ranking is cached a few minutes: it counts every purchase)."""
    ids = cache.get("search:best_sellers")
    if ids is None:
        ids = list(
            _on_sale()
            .annotate(sold=Count("purchases", filter=Q(purchases__status=Purchase.Status.PAID)))
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

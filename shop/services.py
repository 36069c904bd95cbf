"""Writes to the shop's data. Called by the bot and by the admin; plain values in, models out."""

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from shop.models import Category, Product, User


def _fit(model, field: str, value: str | None) -> str:
    return (value or "")[: model._meta.get_field(field).max_length]


def user_sync_from_telegram(
    *,
    telegram_id: int,
    username: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    language_code: str | None = None,
) -> User:
    """Create the customer, or bring their names up to date (Telegram users rename themselves).

    A user who writes to the bot has evidently not blocked it.
    """
    fresh = {
        "username": _fit(User, "username", username),
        "first_name": _fit(User, "first_name", first_name),
        "last_name": _fit(User, "last_name", last_name),
        "language_code": _fit(User, "language_code", language_code),
        "is_blocked": False,
    }
    with transaction.atomic():
        user, created = User.objects.get_or_create(telegram_id=telegram_id, defaults=fresh)
        if created:
            return user
        changed = [field for field, value in fresh.items() if getattr(user, field) != value]
        if changed:
            for field in changed:
                setattr(user, field, fresh[field])
            user.save(update_fields=[*changed, "updated_at"])
    return user


def user_set_blocked(*, telegram_id: int, blocked: bool) -> bool:
    """Record that the user blocked (or unblocked) the bot; False if we never met them."""
    return bool(User.objects.filter(telegram_id=telegram_id).update(is_blocked=blocked, updated_at=timezone.now()))


def product_set_on_sale(*, products: QuerySet[Product], on_sale: bool) -> int:
    """Put products on sale or take them off sale; returns how many changed."""
    return products.exclude(is_active=on_sale).update(is_active=on_sale, updated_at=timezone.now())


DEMO_CATALOG = [
    (
        "Software keys",
        [
            (
                "Text Editor Pro — 1 year",
                "A <b>one-year</b> licence key for Text Editor Pro.",
                50,
                "Your key: <code>TEPRO-DEMO-1234-5678</code>\nActivate it under Help → Licence.",
            ),
            (
                "Photo Filters Pack",
                "Thirty filters for your photos.",
                25,
                'Download: <a href="https://example.com/filters-demo">filters pack</a>',
            ),
            (
                "Password Vault — lifetime",
                "A <i>lifetime</i> licence for Password Vault.",
                120,
                "Your key: <code>PVAULT-DEMO-ABCD-EFGH</code>",
            ),
        ],
    ),
    (
        "Online courses",
        [
            (
                "Python in 30 days",
                "A self-paced course with exercises.",
                200,
                'Course link: <a href="https://example.com/python-course">open the course</a>\nAccess code: <code>PY30</code>',
            ),
            (
                "Django for shops",
                "Build a shop like this one.",
                250,
                'Course link: <a href="https://example.com/django-shops">open the course</a>',
            ),
        ],
    ),
    (
        "Free stuff",
        [
            (
                "Welcome guide",
                "A short guide to the shop. Free.",
                0,
                'Thanks for stopping by! Here is the guide: <a href="https://example.com/guide">guide</a>',
            ),
        ],
    ),
]


def demo_catalog_create() -> tuple[int, int]:
    """Fill in a small demo catalog; running it again creates nothing new.

    Returns (categories created, products created).
    """
    categories_created = products_created = 0
    with transaction.atomic():
        for category_name, products in DEMO_CATALOG:
            category, created = Category.objects.get_or_create(category_name=category_name)
            categories_created += created
            for name, description, price, hidden_content in products:
                _, created = Product.objects.get_or_create(
                    category=category,
                    name=name,
                    defaults={"description": description, "price": price, "hidden_content": hidden_content},
                )
                products_created += created
    return categories_created, products_created

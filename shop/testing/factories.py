"""Factories for the shop's models (factory-boy): every test builds its data here.

`UserFactory()` is a customer with a fresh Telegram id; `PurchaseFactory()` a paid Stars purchase
of a fresh product by a fresh customer. Pass fields to override: `ProductFactory(price=0)`;
`PurchaseFactory(refunded=True)`, `PurchaseFactory(in_roubles=True)` and
`PurchaseFactory(created_at=a_week_ago)` for purchases refunded, paid in roubles, or made earlier.
"""

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from shop.models import Broadcast, Category, Product, Purchase, User
from shop.services.broadcasts import broadcast_create, broadcast_start
from shop.stock.models import StockUnit
from shop.stock.services import unit_hash


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["telegram_id"]

    telegram_id = factory.Sequence(lambda n: 900_000 + n)
    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Sequence(lambda n: f"First{n}")


class CategoryFactory(DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ["category_name"]

    category_name = "Keys"


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    category = factory.SubFactory(CategoryFactory)
    name = factory.Sequence(lambda n: f"Product {n}")
    price = 10
    hidden_content = "KEY"


class StockProductFactory(ProductFactory):
    """A product sold from stock: each buyer gets their own units (`stocked(product, n)` adds them)."""

    sells_units = True
    hidden_content = ""


class StockUnitFactory(DjangoModelFactory):
    class Meta:
        model = StockUnit

    product = factory.SubFactory(StockProductFactory)
    content = factory.Sequence(lambda n: f"KEY-{n:05d}")
    content_hash = factory.LazyAttribute(lambda unit: unit_hash(unit.content))


def stocked(product: Product, count: int, *, prefix: str = "KEY") -> list[StockUnit]:
    """`count` fresh units added to the product's stock (`{prefix}-1`, `{prefix}-2`...)."""
    return [StockUnitFactory(product=product, content=f"{prefix}-{n}") for n in range(1, count + 1)]


class PurchaseFactory(DjangoModelFactory):
    """A paid purchase put straight into the database, at the product's price, in Stars."""

    class Meta:
        model = Purchase
        skip_postgeneration_save = True

    class Params:
        refunded = factory.Trait(status=Purchase.Status.REFUNDED, refunded_at=factory.LazyFunction(timezone.now))
        # Through a payment provider, 990 ₽ unless a price is given.
        in_roubles = factory.Trait(price=990, currency="RUB", payment_type=Purchase.PaymentType.PROVIDER)

    user = factory.SubFactory(UserFactory)
    product = factory.SubFactory(ProductFactory)
    price = factory.LazyAttribute(lambda purchase: purchase.product.price)
    currency = "XTR"
    payment_type = Purchase.PaymentType.STARS
    payment_id = factory.Sequence(lambda n: f"charge-{n}")

    @factory.post_generation
    def created_at(purchase, create, when, **kwargs):
        """Backdate the purchase: the database sets `created_at` on insert, so it is changed after."""
        if when is None:
            return
        if create:
            Purchase.objects.filter(pk=purchase.pk).update(created_at=when)
        purchase.created_at = when


def broadcast_started(customers: int) -> Broadcast:
    """A broadcast to all customers, started, after `customers` new customers joined."""
    UserFactory.create_batch(customers)
    broadcast = broadcast_create(text="Hi")
    broadcast_start(broadcast=broadcast)
    return broadcast

"""The shop's models: what the database refuses, what full_clean refuses, what may be deleted, names."""

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from shop.models import (
    DESCRIPTION_MAX_LENGTH,
    HIDDEN_CONTENT_MAX_LENGTH,
    BotText,
    BroadcastRecipient,
    Category,
    Product,
    Purchase,
    User,
)
from shop.testing.factories import ProductFactory, PurchaseFactory, UserFactory, broadcast_started

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer():
    return UserFactory(telegram_id=42, username="ann")


# --- Database constraints (objects.create skips full_clean: only the database stands in the way) ---


def test_telegram_id_is_unique():
    User.objects.create(telegram_id=42)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(telegram_id=42, username="someone_else")
    assert User.objects.count() == 1


def test_payment_id_is_unique_so_a_payment_is_recorded_once(buyer, product):
    PurchaseFactory(user=buyer, product=product, payment_id="charge-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        PurchaseFactory(user=buyer, product=product, payment_id="charge-1")
    assert Purchase.objects.count() == 1


def test_database_refuses_negative_product_price(category):
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(category=category, price=-1)
    assert not Product.objects.exists()


def test_database_refuses_negative_product_price_on_bulk_update(product):
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(price=-5)
    product.refresh_from_db()
    assert product.price == 50


def test_database_refuses_negative_purchase_price(buyer, product):
    with pytest.raises(IntegrityError), transaction.atomic():
        PurchaseFactory(user=buyer, product=product, price=-1)
    assert not Purchase.objects.exists()


def test_database_refuses_unknown_payment_type(buyer, product):
    with pytest.raises(IntegrityError), transaction.atomic():
        PurchaseFactory(user=buyer, product=product, payment_type="barter")
    assert not Purchase.objects.exists()


def test_free_product_and_free_purchase_are_allowed(buyer, category):
    product = ProductFactory(category=category, price=0)
    purchase = PurchaseFactory(user=buyer, product=product, price=0, payment_type="free")
    assert purchase.price == 0


def test_database_refuses_product_that_delivers_nothing(category):
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(category=category, hidden_content="", file_id="")
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("hidden_content", "file_id"),
    [("KEY-1", ""), ("", "BQACAgIAAxkBAAIB"), ("KEY-1", "BQACAgIAAxkBAAIB")],
    ids=["hidden-content-only", "file-only", "both"],
)
def test_product_delivering_content_or_file_is_accepted(category, hidden_content, file_id):
    product = ProductFactory.build(category=category, hidden_content=hidden_content, file_id=file_id)
    product.full_clean()
    product.save()
    assert Product.objects.filter(pk=product.pk).exists()


def test_full_clean_refuses_product_that_delivers_nothing(category):
    product = ProductFactory.build(category=category, hidden_content="", file_id="")
    with pytest.raises(ValidationError) as exc_info:
        product.full_clean()
    messages = " ".join(exc_info.value.message_dict[NON_FIELD_ERRORS])
    assert "deliver something" in messages


# --- Deleting: purchases are financial history ---


def test_product_with_purchases_cannot_be_deleted(buyer, product):
    purchase = PurchaseFactory(user=buyer, product=product)
    with pytest.raises(ProtectedError), transaction.atomic():
        product.delete()
    assert Product.objects.filter(pk=product.pk).exists()
    assert Purchase.objects.filter(pk=purchase.pk).exists()


def test_customer_with_purchases_cannot_be_deleted(buyer, product):
    purchase = PurchaseFactory(user=buyer, product=product)
    with pytest.raises(ProtectedError), transaction.atomic():
        buyer.delete()
    assert User.objects.filter(pk=buyer.pk).exists()
    assert Purchase.objects.filter(pk=purchase.pk).exists()


def test_category_whose_products_were_bought_cannot_be_deleted(buyer, category, product):
    purchase = PurchaseFactory(user=buyer, product=product)
    with pytest.raises(ProtectedError), transaction.atomic():
        category.delete()
    assert Category.objects.filter(pk=category.pk).exists()
    assert Purchase.objects.filter(pk=purchase.pk).exists()


def test_category_with_products_cannot_be_deleted(category, product):
    with pytest.raises(ProtectedError), transaction.atomic():
        category.delete()
    assert Product.objects.filter(pk=product.pk, category=category).exists()


def test_empty_category_and_unbought_product_can_be_deleted(category, product):
    product.delete()
    category.delete()
    assert not Category.objects.exists()


# --- full_clean: what staff type in the admin ---


@pytest.mark.parametrize("field", ["description", "hidden_content"])
@pytest.mark.parametrize("markup", ["<b>unclosed", "<div>block</div>", "fish & chips", "<b><i>x</b></i>", "KEY-1</p>"])
def test_full_clean_refuses_malformed_telegram_html(category, field, markup):
    product = ProductFactory.build(category=category, **{field: markup})
    with pytest.raises(ValidationError) as exc_info:
        product.full_clean()
    assert field in exc_info.value.message_dict


def test_full_clean_accepts_telegram_html(category):
    product = ProductFactory.build(
        category=category,
        description='A <b>bold</b> <a href="https://example.com">link</a> &amp; more',
        hidden_content="<code>KEY-1</code>\n<tg-spoiler>secret</tg-spoiler>",
    )
    product.full_clean()


def test_description_may_be_exactly_the_limit_and_tags_do_not_count(category):
    product = ProductFactory.build(category=category, description="<b>" + "x" * DESCRIPTION_MAX_LENGTH + "</b>")
    product.full_clean()


def test_full_clean_refuses_too_long_description(category):
    product = ProductFactory.build(category=category, description="x" * (DESCRIPTION_MAX_LENGTH + 1))
    with pytest.raises(ValidationError) as exc_info:
        product.full_clean()
    assert str(DESCRIPTION_MAX_LENGTH) in exc_info.value.message_dict["description"][0]


def test_description_length_counts_emoji_as_two_like_telegram(category):
    # 1501 emoji are 1501 Python characters but 3002 UTF-16 units: over Telegram's budget.
    fits = ProductFactory.build(category=category, description="😀" * (DESCRIPTION_MAX_LENGTH // 2))
    fits.full_clean()
    too_long = ProductFactory.build(category=category, description="😀" * (DESCRIPTION_MAX_LENGTH // 2 + 1))
    with pytest.raises(ValidationError) as exc_info:
        too_long.full_clean()
    assert "description" in exc_info.value.message_dict


def test_hidden_content_may_be_exactly_the_limit(category):
    product = ProductFactory.build(category=category, hidden_content="k" * HIDDEN_CONTENT_MAX_LENGTH)
    product.full_clean()


def test_full_clean_refuses_too_long_hidden_content(category):
    product = ProductFactory.build(category=category, hidden_content="k" * (HIDDEN_CONTENT_MAX_LENGTH + 1))
    with pytest.raises(ValidationError) as exc_info:
        product.full_clean()
    assert str(HIDDEN_CONTENT_MAX_LENGTH) in exc_info.value.message_dict["hidden_content"][0]


def test_full_clean_refuses_too_long_bot_text():
    text = BotText(key=BotText.Key.HELP, language="en", text="h" * (HIDDEN_CONTENT_MAX_LENGTH + 1))
    with pytest.raises(ValidationError) as exc_info:
        text.full_clean()
    assert "text" in exc_info.value.message_dict


def test_full_clean_refuses_malformed_bot_text():
    text = BotText(key=BotText.Key.TERMS, language="en", text="<p>Terms</p>")
    with pytest.raises(ValidationError) as exc_info:
        text.full_clean()
    assert "text" in exc_info.value.message_dict


# --- BotText ---


def test_bot_text_is_unique_per_key_and_language():
    BotText.objects.create(key=BotText.Key.HELP, language="en", text="Help")
    BotText.objects.create(key=BotText.Key.HELP, language="ru", text="Помощь")
    BotText.objects.create(key=BotText.Key.TERMS, language="en", text="Terms")
    with pytest.raises(IntegrityError), transaction.atomic():
        BotText.objects.create(key=BotText.Key.HELP, language="en", text="Other help")
    assert BotText.objects.count() == 3


# --- How customers are named in the admin ---


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"username": "ann", "first_name": "Ann", "last_name": "Lee"}, "@ann"),
        ({"first_name": "Ann", "last_name": "Lee"}, "Ann Lee"),
        ({"first_name": "Ann"}, "Ann"),
        ({"last_name": "Lee"}, "Lee"),
        ({}, "42"),
    ],
)
def test_user_str_prefers_username_then_names_then_id(fields, expected):
    assert str(User(telegram_id=42, **fields)) == expected


def test_purchase_str_names_product_customer_and_payment(buyer, product):
    purchase = PurchaseFactory(user=buyer, product=product, payment_id="charge-77")
    assert str(purchase) == "Editor Pro → @ann (charge-77)"


def test_product_currency_is_the_shop_currency(settings, product):
    settings.SHOP_CURRENCY = "RUB"
    assert product.currency == "RUB"


# --- Broadcasts ---


def test_recipient_rows_are_unique_per_customer():
    broadcast = broadcast_started(1)
    user = User.objects.get()
    with pytest.raises(Exception):  # noqa: B017 (IntegrityError, whichever database)
        BroadcastRecipient.objects.create(broadcast=broadcast, user=user)

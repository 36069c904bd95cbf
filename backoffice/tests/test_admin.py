"""The admin as staff use it: lists, forms, search, filters, actions, read-only money history."""

import datetime
import itertools

import pytest
from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from backoffice.admin.catalog import ProductAdmin
from backoffice.admin.customers import CustomerAdmin
from shop.models import BotText, Category, Product, Purchase, User

pytestmark = pytest.mark.django_db

_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """admin_client creates a superuser per test; the production hasher would take most of the run."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- Building data --------------------------------------------------------------------------


def make_user(**kwargs) -> User:
    n = next(_seq)
    defaults = {"telegram_id": 900_000 + n, "username": f"user{n}", "first_name": f"First{n}"}
    return User.objects.create(**{**defaults, **kwargs})


def make_product(category: Category, **kwargs) -> Product:
    defaults = {"name": f"Product {next(_seq)}", "price": 10, "hidden_content": "KEY"}
    return Product.objects.create(category=category, **{**defaults, **kwargs})


def make_purchase(user: User, product: Product, **kwargs) -> Purchase:
    defaults = {
        "price": product.price,
        "currency": "XTR",
        "payment_type": Purchase.PaymentType.STARS,
        "payment_id": f"charge-{next(_seq)}",
    }
    return Purchase.objects.create(user=user, product=product, **{**defaults, **kwargs})


def bulk_purchases(count: int, *, user: User | None = None, product: Product | None = None) -> None:
    """`count` purchases, each by a new customer of a new product unless one is given."""
    n0 = next(_seq) * 1000
    if product is None:
        categories = Category.objects.bulk_create([Category(category_name=f"Bulk {n0 + i}") for i in range(count)])
        products = Product.objects.bulk_create(
            [Product(category=c, name=f"Bulk product {n0 + i}", price=5, hidden_content="K") for i, c in enumerate(categories)]
        )
    else:
        products = [product] * count
    if user is None:
        users = User.objects.bulk_create(
            [User(telegram_id=n0 + i, username=f"bulk{n0 + i}", first_name="Bulk") for i in range(count)]
        )
    else:
        users = [user] * count
    Purchase.objects.bulk_create(
        [
            Purchase(user=u, product=p, price=5, currency="XTR", payment_type="stars", payment_id=f"bulk-{n0 + i}")
            for i, (u, p) in enumerate(zip(users, products, strict=True))
        ]
    )


def bulk_bot_texts(count: int) -> None:
    existing = set(BotText.objects.values_list("key", "language"))
    missing = [(key, language) for key in BotText.Key.values for language in ("en", "ru") if (key, language) not in existing]
    BotText.objects.bulk_create([BotText(key=k, language=lang, text="Hello") for k, lang in missing[:count]])


def bulk_products(count: int, category: Category) -> None:
    n0 = next(_seq) * 1000
    Product.objects.bulk_create(
        [Product(category=category, name=f"Inline {n0 + i}", price=7, hidden_content="K") for i in range(count)]
    )


QUERY_BUDGET = 10  # session, user, the page's own rows, filters and counts


def count_queries(client, page: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(page)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# --- Posting forms as a browser would ---------------------------------------------------------


def _form_values(form, data: dict) -> None:
    for name, field in form.fields.items():
        key = form.add_prefix(name)
        value = form[name].value()
        if isinstance(field, forms.FileField):
            continue  # a browser posts a file input only when a file is chosen
        if isinstance(field, forms.BooleanField):
            if value:
                data[key] = "on"
        else:
            data[key] = "" if value is None else value


def change_form_data(response) -> dict:
    """What the rendered change form would post unchanged: the main form and every inline formset."""
    data = {}
    _form_values(response.context["adminform"].form, data)
    for inline in response.context["inline_admin_formsets"]:
        _form_values(inline.formset.management_form, data)
        for form in inline.formset.forms:
            _form_values(form, data)
    return data


def changelist_form_data(response) -> dict:
    """What the changelist's list_editable form would post unchanged."""
    formset = response.context["cl"].formset
    data = {"_save": "Save"}
    _form_values(formset.management_form, data)
    for form in formset.forms:
        _form_values(form, data)
    return data


def result_pks(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def url(name: str, *args) -> str:
    return reverse(f"admin:shop_{name}", args=args)


@pytest.fixture
def buyer(db):
    return make_user(telegram_id=42, username="ann", first_name="Ann", last_name="Lee", language_code="en")


@pytest.fixture
def purchase(buyer, product):
    return make_purchase(buyer, product, payment_id="stars-charge-abc")


@pytest.fixture
def bot_text(db):
    return BotText.objects.create(key=BotText.Key.HELP, language="en", text="Write to <b>@support</b>.")


# --- Every page renders, with the data -------------------------------------------------------


def test_category_changelist_shows_product_counts(admin_client, product, category):
    make_product(category, name="Old key", is_active=False)

    response = admin_client.get(url("category_changelist"))

    assert response.status_code == 200
    assert "Keys" in response.text
    assert '<td class="field-products_on_sale">1</td>' in response.text
    assert '<td class="field-products_total">2</td>' in response.text


def test_product_changelist_shows_name_category_price_and_sold(admin_client, purchase, product):
    make_purchase(make_user(), product)
    make_product(product.category, name="Welcome guide", price=0)

    response = admin_client.get(url("product_changelist"))

    assert response.status_code == 200
    assert "Editor Pro" in response.text
    assert '<td class="field-category nowrap">Keys</td>' in response.text
    assert "⭐ 50" in response.text
    assert '<td class="field-sold">2</td>' in response.text
    assert '<td class="field-price_display">free</td>' in response.text


def test_customer_changelist_links_purchase_count_to_their_purchases(admin_client, purchase, buyer):
    make_purchase(buyer, make_product(purchase.product.category))
    other = make_purchase(make_user(), purchase.product)

    response = admin_client.get(url("user_changelist"))

    assert response.status_code == 200
    assert "ann" in response.text
    assert ">42<" in response.text
    link = f"{url('purchase_changelist')}?user__id__exact={buyer.pk}"
    assert f'<a href="{link}">2</a>' in response.text

    purchases = admin_client.get(link)
    assert purchases.status_code == 200
    assert result_pks(purchases) == set(buyer.purchases.values_list("pk", flat=True))
    assert other.pk not in result_pks(purchases)


def test_purchase_changelist_shows_customer_product_amount_and_payment(admin_client, purchase):
    response = admin_client.get(url("purchase_changelist"))

    assert response.status_code == 200
    for shown in ("@ann", "Editor Pro", "⭐ 50", "Telegram Stars", "stars-charge-abc"):
        assert shown in response.text


def test_bottext_changelist_shows_texts(admin_client, bot_text):
    response = admin_client.get(url("bottext_changelist"))

    assert response.status_code == 200
    assert "Help" in response.text
    assert result_pks(response) == {bot_text.pk}


def test_category_change_page_shows_its_products_inline(admin_client, product, category):
    response = admin_client.get(url("category_change", category.pk))

    assert response.status_code == 200
    assert 'value="Keys"' in response.text
    assert 'value="Editor Pro"' in response.text
    assert url("product_change", product.pk) in response.text


def test_product_change_page_shows_fields_and_sales(admin_client, purchase, product):
    response = admin_client.get(url("product_change", product.pk))

    assert response.status_code == 200
    assert 'value="Editor Pro"' in response.text
    assert 'value="50"' in response.text
    assert "KEY-123" in response.text
    assert '<div class="readonly">1</div>' in response.text  # sold


def test_customer_change_page_shows_customer_and_purchases_inline(admin_client, purchase, buyer):
    response = admin_client.get(url("user_change", buyer.pk))

    assert response.status_code == 200
    assert "42" in response.text
    assert "ann" in response.text
    assert "Editor Pro" in response.text
    assert "⭐ 50" in response.text
    assert "stars-charge-abc" in response.text
    assert url("purchase_change", purchase.pk) in response.text
    (inline,) = response.context["inline_admin_formsets"]
    assert inline.has_change_permission is False
    assert inline.has_add_permission is False
    assert inline.has_delete_permission is False


def test_purchase_change_page_shows_values(admin_client, purchase, buyer):
    response = admin_client.get(url("purchase_change", purchase.pk))

    assert response.status_code == 200
    for shown in ("stars-charge-abc", "Telegram Stars", "XTR", "50", "Editor Pro"):
        assert shown in response.text
    assert url("user_change", buyer.pk) in response.text


def test_bottext_change_page_shows_text(admin_client, bot_text):
    response = admin_client.get(url("bottext_change", bot_text.pk))

    assert response.status_code == 200
    assert "Write to &lt;b&gt;@support&lt;/b&gt;." in response.text


@pytest.mark.parametrize("model", ["category", "product", "bottext"])
def test_add_forms_render(admin_client, model, category):
    response = admin_client.get(url(f"{model}_add"))

    assert response.status_code == 200
    assert 'name="_save"' in response.text


def test_product_add_form_offers_categories_and_explains_link(admin_client, category):
    response = admin_client.get(url("product_add"))

    assert response.status_code == 200
    assert f'<option value="{category.pk}">Keys</option>' in response.text
    assert "Save the product to get its link." in response.text


def test_bottext_add_saves_good_text(admin_client):
    response = admin_client.post(url("bottext_add"), {"key": "terms", "language": "ru", "text": "Условия: <b>нет</b>."})

    assert response.status_code == 302
    assert BotText.objects.get().text == "Условия: <b>нет</b>."


def test_bottext_add_refuses_bad_html_and_duplicates(admin_client, bot_text):
    bad = admin_client.post(url("bottext_add"), {"key": "terms", "language": "en", "text": "<b>unclosed"})
    duplicate = admin_client.post(url("bottext_add"), {"key": "help", "language": "en", "text": "Again"})

    assert "text" in bad.context["adminform"].form.errors
    assert duplicate.status_code == 200
    assert duplicate.context["adminform"].form.errors
    assert list(BotText.objects.all()) == [bot_text]


# --- Sorting ------------------------------------------------------------------------------------


def test_products_sort_by_sold(admin_client, purchase, product, category):
    unsold = make_product(category, name="Aaa unsold")
    changelist = url("product_changelist")
    sold_column = ProductAdmin.list_display.index("sold") + 1

    descending = admin_client.get(changelist, {"o": f"-{sold_column}"})

    assert [p.pk for p in descending.context["cl"].result_list] == [product.pk, unsold.pk]


def test_customers_sort_by_purchase_count(admin_client, purchase, buyer):
    newcomer = make_user()
    changelist = url("user_changelist")
    column = CustomerAdmin.list_display.index("purchases_link") + 1

    descending = admin_client.get(changelist, {"o": f"-{column}"})

    assert [u.pk for u in descending.context["cl"].result_list] == [buyer.pk, newcomer.pk]


def test_purchase_date_filter_past_seven_days(admin_client, purchase, buyer, product):
    old = Purchase.objects.create(
        user=buyer, product=product, price=50, currency="XTR", payment_type="stars", payment_id="old-charge"
    )
    Purchase.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=40))
    changelist = admin_client.get(url("purchase_changelist"))
    date_filter = next(spec for spec in changelist.context["cl"].filter_specs if spec.title == "created")
    past_week = next(c for c in date_filter.choices(changelist.context["cl"]) if c["display"] == "Past 7 days")

    response = admin_client.get(url("purchase_changelist") + past_week["query_string"])

    assert result_pks(response) == {purchase.pk}


# --- Query counts do not grow with rows ------------------------------------------------------


CHANGELISTS = [
    ("category_changelist", bulk_purchases, 3, Category),
    ("product_changelist", bulk_purchases, 3, Product),
    ("user_changelist", bulk_purchases, 3, User),
    ("purchase_changelist", bulk_purchases, 3, Purchase),
    ("bottext_changelist", bulk_bot_texts, 1, BotText),
]


@pytest.mark.parametrize(("name", "fill", "n", "model"), CHANGELISTS, ids=[c[0] for c in CHANGELISTS])
def test_changelist_queries_do_not_grow_with_rows(admin_client, django_assert_max_num_queries, name, fill, n, model):
    changelist = url(name)
    fill(n)
    admin_client.get(changelist)  # warm up: session, content types
    with django_assert_max_num_queries(QUERY_BUDGET):
        few = count_queries(admin_client, changelist)

    fill(4 * n)
    many = count_queries(admin_client, changelist)

    assert model.objects.count() == 5 * n
    assert admin_client.get(changelist).context["cl"].result_count == 5 * n
    assert many == few


def test_customer_page_queries_do_not_grow_with_purchases(admin_client, django_assert_max_num_queries, buyer, product):
    page = url("user_change", buyer.pk)
    bulk_purchases(1, user=buyer, product=product)
    admin_client.get(page)
    with django_assert_max_num_queries(QUERY_BUDGET):
        few = count_queries(admin_client, page)

    bulk_purchases(9, user=buyer, product=product)
    many = count_queries(admin_client, page)

    (inline,) = admin_client.get(page).context["inline_admin_formsets"]
    assert len(inline.formset.forms) == 10
    assert many == few


def test_category_page_queries_do_not_grow_with_products(admin_client, django_assert_max_num_queries, category):
    page = url("category_change", category.pk)
    bulk_products(1, category)
    admin_client.get(page)
    with django_assert_max_num_queries(QUERY_BUDGET):
        few = count_queries(admin_client, page)

    bulk_products(9, category)
    many = count_queries(admin_client, page)

    (inline,) = admin_client.get(page).context["inline_admin_formsets"]
    assert len(inline.formset.forms) == 10
    assert many == few


# --- Search ------------------------------------------------------------------------------------


def test_product_search_by_name_and_description(admin_client, product, category):
    other = make_product(category, name="Photo filters", description="Thirty <i>filters</i>.")

    by_name = admin_client.get(url("product_changelist"), {"q": "editor pro"})
    by_description = admin_client.get(url("product_changelist"), {"q": "thirty"})

    assert result_pks(by_name) == {product.pk}
    assert result_pks(by_description) == {other.pk}


def test_customer_search(admin_client, buyer):
    other = make_user(telegram_id=1042, username="bob", first_name="Robert")
    changelist = url("user_changelist")

    assert result_pks(admin_client.get(changelist, {"q": "ann"})) == {buyer.pk}
    assert result_pks(admin_client.get(changelist, {"q": "robert"})) == {other.pk}
    assert result_pks(admin_client.get(changelist, {"q": "42"})) == {buyer.pk}  # exact, not 1042
    assert result_pks(admin_client.get(changelist, {"q": "1042"})) == {other.pk}


def test_purchase_search(admin_client, purchase, category):
    other = make_purchase(
        make_user(telegram_id=1042, username="bob"), make_product(category, name="Photo filters"), payment_id="prov-9"
    )
    changelist = url("purchase_changelist")

    assert result_pks(admin_client.get(changelist, {"q": "charge-abc"})) == {purchase.pk}
    assert result_pks(admin_client.get(changelist, {"q": "bob"})) == {other.pk}
    assert result_pks(admin_client.get(changelist, {"q": "42"})) == {purchase.pk}
    assert result_pks(admin_client.get(changelist, {"q": "1042"})) == {other.pk}
    assert result_pks(admin_client.get(changelist, {"q": "photo"})) == {other.pk}


@pytest.mark.parametrize("name", ["user_changelist", "purchase_changelist"])
@pytest.mark.parametrize("term", ["ann", "not a number", "12abc", "99999999999999999999999"])
def test_non_numeric_search_on_telegram_id_does_not_crash(admin_client, purchase, name, term):
    response = admin_client.get(url(name), {"q": term})

    assert response.status_code == 200


# --- Filters -----------------------------------------------------------------------------------


def test_product_filters(admin_client, product, category):
    off_sale = make_product(category, is_active=False)
    elsewhere = make_product(Category.objects.create(category_name="Courses"))
    changelist = url("product_changelist")

    assert result_pks(admin_client.get(changelist, {"is_active__exact": "1"})) == {product.pk, elsewhere.pk}
    assert result_pks(admin_client.get(changelist, {"is_active__exact": "0"})) == {off_sale.pk}
    assert result_pks(admin_client.get(changelist, {"category__id__exact": category.pk})) == {product.pk, off_sale.pk}


def test_purchase_filters(admin_client, purchase, buyer, product):
    free = make_purchase(buyer, product, price=0, payment_type=Purchase.PaymentType.FREE)
    roubles = make_purchase(buyer, product, price=990, currency="RUB", payment_type=Purchase.PaymentType.PROVIDER)
    changelist = url("purchase_changelist")

    assert result_pks(admin_client.get(changelist, {"payment_type__exact": "stars"})) == {purchase.pk}
    assert result_pks(admin_client.get(changelist, {"payment_type__exact": "free"})) == {free.pk}
    assert result_pks(admin_client.get(changelist, {"currency": "RUB"})) == {roubles.pk}
    assert "990 ₽" in admin_client.get(changelist, {"currency": "RUB"}).text


# --- Purchases are read-only money history -----------------------------------------------------


def test_purchases_cannot_be_added(admin_client, purchase):
    changelist = admin_client.get(url("purchase_changelist"))

    assert url("purchase_add") not in changelist.text
    assert admin_client.get(url("purchase_add")).status_code == 403
    assert admin_client.post(url("purchase_add"), {"payment_id": "forged", "price": 1}).status_code == 403
    assert Purchase.objects.count() == 1


def test_purchase_change_page_has_no_save_and_post_changes_nothing(admin_client, purchase, buyer, product):
    page = url("purchase_change", purchase.pk)

    response = admin_client.get(page)
    assert 'name="_save"' not in response.text
    assert 'name="_continue"' not in response.text

    posted = admin_client.post(
        page,
        {
            "user": buyer.pk,
            "product": product.pk,
            "price": 1,
            "currency": "RUB",
            "payment_type": "free",
            "payment_id": "edited",
        },
    )
    assert posted.status_code == 403
    purchase.refresh_from_db()
    assert (purchase.price, purchase.currency, purchase.payment_type, purchase.payment_id) == (
        50,
        "XTR",
        "stars",
        "stars-charge-abc",
    )


def test_purchases_cannot_be_deleted(admin_client, purchase):
    delete = url("purchase_delete", purchase.pk)

    assert admin_client.get(delete).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    changelist = admin_client.get(url("purchase_changelist"))
    assert 'value="delete_selected"' not in changelist.text
    actions = changelist.context["cl"].model_admin.get_actions(changelist.wsgi_request)
    assert set(actions) == {"refund", "deliver_content", "export_csv"}
    assert Purchase.objects.filter(pk=purchase.pk).exists()


def test_delete_selected_action_refused_for_purchases(admin_client, purchase):
    response = admin_client.post(
        url("purchase_changelist"), {"action": "delete_selected", "_selected_action": [purchase.pk], "post": "yes"}
    )

    assert response.status_code in (200, 302)
    assert Purchase.objects.filter(pk=purchase.pk).exists()


# --- Customers -----------------------------------------------------------------------------------


def test_customers_cannot_be_added(admin_client, buyer):
    assert admin_client.get(url("user_add")).status_code == 403
    assert admin_client.post(url("user_add"), {"telegram_id": 7}).status_code == 403
    assert url("user_add") not in admin_client.get(url("user_changelist")).text
    assert not User.objects.filter(telegram_id=7).exists()


def test_staff_toggle_customer_blocked(admin_client, purchase, buyer):
    page = url("user_change", buyer.pk)
    data = change_form_data(admin_client.get(page))
    data["is_blocked"] = "on"
    data["username"] = "forged"  # read-only: ignored
    data["telegram_id"] = "1"

    response = admin_client.post(page, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    buyer.refresh_from_db()
    assert buyer.is_blocked is True
    assert (buyer.username, buyer.telegram_id) == ("ann", 42)
    assert Purchase.objects.get(pk=purchase.pk).payment_id == "stars-charge-abc"


# --- Deleting what has been sold is refused ----------------------------------------------------


def test_deleting_sold_product_is_refused(admin_client, purchase, product):
    delete = url("product_delete", product.pk)

    page = admin_client.get(delete)
    assert page.status_code == 200
    assert "Cannot delete" in page.text

    response = admin_client.post(delete, {"post": "yes"})
    assert response.status_code == 200
    assert "Cannot delete" in response.text
    assert Product.objects.filter(pk=product.pk).exists()
    assert Purchase.objects.filter(pk=purchase.pk).exists()


def test_product_delete_page_says_purchases_protect_it(admin_client, purchase, product):
    """Staff must learn that the sales keep the product, not that they lack a permission to delete sales."""
    page = admin_client.get(url("product_delete", product.pk))

    assert "would require deleting the following protected related objects" in page.text
    assert "stars-charge-abc" in page.text
    assert "doesn't have permission" not in page.text


def test_deleting_category_with_sold_products_is_refused(admin_client, purchase, category):
    delete = url("category_delete", category.pk)

    page = admin_client.get(delete)
    assert page.status_code == 200
    assert "Cannot delete" in page.text
    assert "Editor Pro" in page.text

    response = admin_client.post(delete, {"post": "yes"})
    assert "Cannot delete" in response.text
    assert Category.objects.filter(pk=category.pk).exists()
    assert Purchase.objects.filter(pk=purchase.pk).exists()


def test_unsold_product_and_empty_category_can_be_deleted(admin_client, product, category):
    assert admin_client.post(url("product_delete", product.pk), {"post": "yes"}).status_code == 302
    assert admin_client.post(url("category_delete", category.pk), {"post": "yes"}).status_code == 302
    assert not Category.objects.exists()


# --- Product form --------------------------------------------------------------------------------


def product_form(category, **overrides) -> dict:
    data = {
        "name": "Photo Filters",
        "category": category.pk,
        "price": "25",
        "is_active": "on",
        "description": "Thirty <b>filters</b>.",
        "hidden_content": '<a href="https://example.com/f">download</a>',
        "file_id": "",
    }
    return {**data, **overrides}


@pytest.mark.parametrize(
    ("field", "value"),
    [("description", "<b>unclosed"), ("hidden_content", "a & b"), ("description", "<div>x</div>")],
)
def test_product_with_bad_telegram_html_is_refused(admin_client, category, field, value):
    response = admin_client.post(url("product_add"), product_form(category, **{field: value}))

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert "errornote" in response.text
    assert not Product.objects.exists()


def test_product_that_delivers_nothing_is_refused(admin_client, category):
    response = admin_client.post(url("product_add"), product_form(category, hidden_content="", file_id=""))

    assert response.status_code == 200
    assert "A product must deliver something" in response.text
    assert not Product.objects.exists()


def test_product_with_negative_price_is_refused(admin_client, category):
    response = admin_client.post(url("product_add"), product_form(category, price="-1"))

    assert response.status_code == 200
    assert "price" in response.context["adminform"].form.errors
    assert not Product.objects.exists()


def test_good_product_saves(admin_client, category):
    response = admin_client.post(url("product_add"), product_form(category))

    assert response.status_code == 302
    product = Product.objects.get()
    assert (product.name, product.category, product.price, product.is_active) == ("Photo Filters", category, 25, True)


def test_product_with_only_a_file_saves(admin_client, category):
    response = admin_client.post(url("product_add"), product_form(category, hidden_content="", file_id="BQACAgIAAxkBAAIB"))

    assert response.status_code == 302
    assert Product.objects.get().file_id == "BQACAgIAAxkBAAIB"


def test_editing_product_keeps_it(admin_client, purchase, product):
    page = url("product_change", product.pk)
    data = change_form_data(admin_client.get(page))
    data["price"] = "60"

    response = admin_client.post(page, data)

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.price == 60
    assert Purchase.objects.get(pk=purchase.pk).price == 50  # the price paid stays history


# --- Category page: products inline ------------------------------------------------------------


def test_category_page_edits_products_inline(admin_client, product, category):
    page = url("category_change", category.pk)
    data = change_form_data(admin_client.get(page))
    assert data["products-0-id"] == product.pk
    data["products-0-price"] = "75"
    data.pop("products-0-is_active")

    response = admin_client.post(page, data)

    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.price, product.is_active) == (75, False)


def test_category_page_adds_product_inline(admin_client, product, category):
    page = url("category_change", category.pk)
    data = change_form_data(admin_client.get(page))
    new = f"products-{data['products-TOTAL_FORMS']}"
    data["products-TOTAL_FORMS"] += 1
    data.update(
        {
            f"{new}-name": "Vault key",
            f"{new}-price": "120",
            f"{new}-is_active": "on",
            f"{new}-hidden_content": "Your key: <code>PV-1</code>",
            f"{new}-file_id": "",
        }
    )

    response = admin_client.post(page, data)

    assert response.status_code == 302
    added = Product.objects.get(name="Vault key")
    assert (added.category, added.price, added.is_active, added.hidden_content) == (
        category,
        120,
        True,
        "Your key: <code>PV-1</code>",
    )


def test_category_page_refuses_inline_product_with_bad_html(admin_client, product, category):
    page = url("category_change", category.pk)
    data = change_form_data(admin_client.get(page))
    data["products-0-hidden_content"] = "a & b"

    response = admin_client.post(page, data)

    assert response.status_code == 200
    (inline,) = response.context["inline_admin_formsets"]
    assert "hidden_content" in inline.formset.forms[0].errors
    product.refresh_from_db()
    assert product.hidden_content == "KEY-123"


# --- Product changelist: actions and list_editable -----------------------------------------------


def test_take_off_sale_and_put_on_sale_actions(admin_client, product, category):
    second = make_product(category)
    already_off = make_product(category, is_active=False)
    changelist = url("product_changelist")
    everything = [product.pk, second.pk, already_off.pk]

    response = admin_client.post(changelist, {"action": "take_off_sale", "_selected_action": everything}, follow=True)

    assert "2 products changed." in response.text
    assert not Product.objects.filter(is_active=True).exists()

    response = admin_client.post(changelist, {"action": "put_on_sale", "_selected_action": [product.pk]}, follow=True)

    assert "1 product changed." in response.text
    assert set(Product.objects.filter(is_active=True).values_list("pk", flat=True)) == {product.pk}


def test_list_editable_is_active(admin_client, product, category):
    other = make_product(category)
    changelist = url("product_changelist")
    data = changelist_form_data(admin_client.get(changelist))
    index = next(i for i in range(2) if data[f"form-{i}-id"] == product.pk)
    data.pop(f"form-{index}-is_active")

    response = admin_client.post(changelist, data)

    assert response.status_code == 302
    product.refresh_from_db()
    other.refresh_from_db()
    assert (product.is_active, other.is_active) == (False, True)


# --- Deep link -----------------------------------------------------------------------------------


def test_product_page_shows_deep_link(admin_client, product, settings):
    settings.TELEGRAM_BOT_USERNAME = "keys_shop_bot"

    response = admin_client.get(url("product_change", product.pk))

    link = f"https://t.me/keys_shop_bot?start=p{product.pk}"
    assert f'<a href="{link}" target="_blank" rel="noopener">{link}</a>' in response.text
    assert "Set TELEGRAM_BOT_USERNAME" not in response.text


def test_product_page_explains_missing_bot_username(admin_client, product, settings):
    settings.TELEGRAM_BOT_USERNAME = ""

    response = admin_client.get(url("product_change", product.pk))

    assert f"?start=p{product.pk}" in response.text
    assert "Set TELEGRAM_BOT_USERNAME to get a ready-to-share link." in response.text


# --- Russian ---------------------------------------------------------------------------------------


@pytest.fixture
def russian(admin_client):
    yield admin_client
    translation.activate("en")  # LocaleMiddleware leaves the last request's language active


def test_admin_speaks_russian(russian):
    response = russian.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="ru")

    assert response.status_code == 200
    assert '<html lang="ru"' in response.text
    assert "Выйти" in response.text


def test_shop_models_named_in_russian(russian):
    response = russian.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="ru")

    assert "Администрирование магазина" in response.text
    assert "Товары" in response.text
    assert "Покупатели" in response.text
    assert "Покупки" in response.text


def test_product_actions_named_in_russian(russian, product):
    response = russian.get(url("product_changelist"), HTTP_ACCEPT_LANGUAGE="ru")

    assert "Выставить выбранные товары в продажу" in response.text


def test_purchase_date_hierarchy_drills_down_without_scanning_every_row(admin_client, purchase, buyer, product):
    older = Purchase.objects.create(
        user=buyer, product=product, price=50, currency="XTR", payment_type="stars", payment_id="older-charge"
    )
    now = timezone.localtime()
    first_of_month = now.replace(day=1, hour=12)
    earlier = first_of_month - datetime.timedelta(days=40)  # another month
    Purchase.objects.filter(pk=older.pk).update(created_at=earlier)

    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(url("purchase_changelist"))
    assert not [q["sql"] for q in queries.captured_queries if "DISTINCT" in q["sql"] and "created_at" in q["sql"]]
    html = page.content.decode()
    if earlier.year == now.year:
        assert f"created_at__month={earlier.month}" in html and f"created_at__month={now.month}" in html
    else:
        assert f"created_at__year={earlier.year}" in html and f"created_at__year={now.year}" in html

    month = admin_client.get(url("purchase_changelist"), {"created_at__year": earlier.year, "created_at__month": earlier.month})
    assert result_pks(month) == {older.pk}
    assert f"created_at__day={earlier.day}" in month.content.decode()

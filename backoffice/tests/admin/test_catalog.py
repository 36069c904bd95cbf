"""The catalog in the admin: categories and products, their forms, files, actions, sales and card preview."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from backoffice.admin.catalog import ProductAdmin
from backoffice.testing import (
    QUERY_BUDGET,
    bulk_products,
    change_form_data,
    changelist_form_data,
    count_queries,
    result_pks,
    staff_client,
    url,
)
from shop.models import Category, Product, Purchase
from shop.testing.factories import CategoryFactory, ProductFactory, PurchaseFactory

pytestmark = pytest.mark.django_db


# --- Pages --------------------------------------------------------------------------------------


def test_category_changelist_shows_product_counts(admin_client, product, category):
    ProductFactory(category=category, name="Old key", is_active=False)

    response = admin_client.get(url("category_changelist"))

    assert response.status_code == 200
    assert "Keys" in response.text
    assert '<td class="field-products_on_sale">1</td>' in response.text
    assert '<td class="field-products_total">2</td>' in response.text


def test_product_changelist_shows_name_category_price_and_sold(admin_client, purchase, product):
    PurchaseFactory(product=product)
    ProductFactory(category=product.category, name="Welcome guide", price=0)

    response = admin_client.get(url("product_changelist"))

    assert response.status_code == 200
    assert "Editor Pro" in response.text
    assert '<td class="field-category nowrap">Keys</td>' in response.text
    assert "⭐ 50" in response.text
    assert '<td class="field-sold">2</td>' in response.text
    assert '<td class="field-price_display">free</td>' in response.text


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


def test_product_add_form_offers_categories_and_explains_link(admin_client, category):
    response = admin_client.get(url("product_add"))

    assert response.status_code == 200
    assert f'<option value="{category.pk}">Keys</option>' in response.text
    assert "Save the product to get its link." in response.text


def test_products_sort_by_sold(admin_client, purchase, product, category):
    unsold = ProductFactory(category=category, name="Aaa unsold")
    changelist = url("product_changelist")
    sold_column = ProductAdmin.list_display.index("sold") + 1

    descending = admin_client.get(changelist, {"o": f"-{sold_column}"})

    assert [p.pk for p in descending.context["cl"].result_list] == [product.pk, unsold.pk]


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


# --- Search and filters -------------------------------------------------------------------------


def test_product_search_by_name_and_description(admin_client, product, category):
    other = ProductFactory(category=category, name="Photo filters", description="Thirty <i>filters</i>.")

    by_name = admin_client.get(url("product_changelist"), {"q": "editor pro"})
    by_description = admin_client.get(url("product_changelist"), {"q": "thirty"})

    assert result_pks(by_name) == {product.pk}
    assert result_pks(by_description) == {other.pk}


def test_product_filters(admin_client, product, category):
    off_sale = ProductFactory(category=category, is_active=False)
    elsewhere = ProductFactory(category=CategoryFactory(category_name="Courses"))
    changelist = url("product_changelist")

    assert result_pks(admin_client.get(changelist, {"is_active__exact": "1"})) == {product.pk, elsewhere.pk}
    assert result_pks(admin_client.get(changelist, {"is_active__exact": "0"})) == {off_sale.pk}
    assert result_pks(admin_client.get(changelist, {"category__id__exact": category.pk})) == {product.pk, off_sale.pk}


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


def form_for(page, action: str) -> tuple[str, dict]:
    """The form on `page` that runs the changelist action `action`: where it posts and what (its hidden inputs)."""
    form = next(f for f in re.findall(r"<form .*?</form>", page.text, flags=re.S) if f'name="action" value="{action}"' in f)
    target = re.search(r'action="([^"]+)"', form).group(1)
    data: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form):
        data.setdefault(name, []).append(value)
    return target, data


def test_deleting_a_sold_product_explains_why_not_and_offers_taking_it_off_sale(admin_client, purchase, product, buyer):
    PurchaseFactory(user=buyer, product=product)

    page = admin_client.get(url("product_delete", product.pk))

    assert (
        "“Editor Pro” cannot be deleted: it has been bought 2 times, and purchases are the shop’s financial history" in page.text
    )
    assert "stars-charge-abc" not in page.text  # not Django's list of the purchases that protect it
    assert "doesn't have permission" not in page.text
    target, data = form_for(page, "take_off_sale")
    response = admin_client.post(target, data, follow=True)

    assert "1 product taken off sale: customers no longer see it; its buyers keep it." in response.text
    product.refresh_from_db()
    assert product.is_active is False
    assert Purchase.objects.filter(product=product).count() == 2


def test_deleting_a_sold_product_already_off_sale_says_so(admin_client, purchase, product):
    Product.objects.filter(pk=product.pk).update(is_active=False)

    page = admin_client.get(url("product_delete", product.pk))

    assert "cannot be deleted" in page.text and "It is off sale already" in page.text
    assert 'value="take_off_sale"' not in page.text


def test_deleting_selected_products_some_sold_offers_off_sale_for_those_and_deleting_the_rest(admin_client, purchase, product):
    never_sold = ProductFactory(category=product.category, name="Spare key")
    changelist = url("product_changelist")

    page = admin_client.post(changelist, {"action": "delete_selected", "_selected_action": [product.pk, never_sold.pk]})

    assert page.status_code == 200
    assert "These" not in page.text and "This product cannot be deleted: it has been bought" in page.text
    assert "Editor Pro</a>:\n    1 purchase" in page.text
    assert "The other selected product can be deleted:\n    Spare key" in page.text
    assert "stars-charge-abc" not in page.text

    target, data = form_for(page, "take_off_sale")
    assert data["_selected_action"] == [str(product.pk)]
    admin_client.post(target, data)
    assert list(Product.objects.filter(is_active=True)) == [never_sold]

    target, data = form_for(page, "delete_selected")
    confirmation = admin_client.post(target, data)  # Django's own confirmation, for the one never sold
    assert "Are you sure you want to delete the selected product?" in confirmation.text
    admin_client.post(changelist, {**data, "post": "yes"})
    assert list(Product.objects.all()) == [product]
    assert Purchase.objects.filter(pk=purchase.pk).exists()


def test_deleting_selected_products_none_sold_is_djangos_confirmation(admin_client, product):
    response = admin_client.post(url("product_changelist"), {"action": "delete_selected", "_selected_action": [product.pk]})

    assert "Are you sure you want to delete the selected product?" in response.text


def test_staff_who_may_only_look_cannot_take_products_off_sale(product):
    viewer = staff_client("catalog-viewer", "view_product")

    viewer.post(url("product_changelist"), {"action": "take_off_sale", "_selected_action": [product.pk]})

    product.refresh_from_db()
    assert product.is_active is True


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
        "file_kind": "document",
        # the stock settings, as the form shows them pre-filled
        "max_per_order": "10",
        "low_stock_threshold": "0",
        "stock_shown_up_to": "100",
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
    second = ProductFactory(category=category)
    already_off = ProductFactory(category=category, is_active=False)
    changelist = url("product_changelist")
    everything = [product.pk, second.pk, already_off.pk]

    response = admin_client.post(changelist, {"action": "take_off_sale", "_selected_action": everything}, follow=True)

    assert "2 products taken off sale: customers no longer see them; their buyers keep them." in response.text
    assert not Product.objects.filter(is_active=True).exists()

    response = admin_client.post(changelist, {"action": "put_on_sale", "_selected_action": [product.pk]}, follow=True)

    assert "1 product put on sale." in response.text
    assert set(Product.objects.filter(is_active=True).values_list("pk", flat=True)) == {product.pk}


def test_list_editable_is_active(admin_client, product, category):
    other = ProductFactory(category=category)
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


def test_product_actions_named_in_russian(russian, product):
    response = russian.get(url("product_changelist"), HTTP_ACCEPT_LANGUAGE="ru")

    assert "Выставить выбранные товары в продажу" in response.text


# --- Product files ------------------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_uploading_a_file_saves_it_and_forgets_the_stale_file_id(admin_client, media, product):
    Product.objects.filter(pk=product.pk).update(file_id="old-telegram-file")
    page = url("product_change", product.pk)
    data = change_form_data(admin_client.get(page))
    data["file"] = SimpleUploadedFile("guide.pdf", b"%PDF-new")

    response = admin_client.post(page, data)

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.file.name.startswith("products/guide")
    assert (media / product.file.name).read_bytes() == b"%PDF-new"
    assert product.file_id == ""


def test_uploading_a_file_with_a_typed_file_id_keeps_the_typed_one(admin_client, media, product):
    Product.objects.filter(pk=product.pk).update(file_id="old-telegram-file")
    page = url("product_change", product.pk)
    data = change_form_data(admin_client.get(page))
    data["file"] = SimpleUploadedFile("guide.pdf", b"%PDF-new")
    data["file_id"] = "typed-telegram-file"

    response = admin_client.post(page, data)

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.file.name.startswith("products/guide")
    assert product.file_id == "typed-telegram-file"


def test_product_with_only_an_uploaded_file_is_accepted(admin_client, media, category):
    data = product_form(
        category, name="Wallpapers", price="5", description="", hidden_content="", file=SimpleUploadedFile("walls.zip", b"PK-zip")
    )

    response = admin_client.post(url("product_add"), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    product = Product.objects.get()
    assert (product.hidden_content, product.file_id) == ("", "")
    assert (media / product.file.name).read_bytes() == b"PK-zip"


def test_clearing_the_only_file_is_refused_not_a_crash(admin_client, media, category):
    """Clearing the file also drops the file id Telegram gave it, leaving nothing to deliver."""
    product = ProductFactory(category=category, hidden_content="", file_id="uploaded-1-walls.zip")
    product.file.save("walls.zip", SimpleUploadedFile("walls.zip", b"PK-zip"))
    page = url("product_change", product.pk)
    data = change_form_data(admin_client.get(page))
    data["file-clear"] = "on"

    response = admin_client.post(page, data)

    assert response.status_code == 200
    assert "A product must deliver something" in response.text
    product.refresh_from_db()
    assert (product.file.name, product.file_id) == ("products/walls.zip", "uploaded-1-walls.zip")


def test_uploading_a_file_on_the_category_page_forgets_the_stale_file_id(admin_client, media, product, category):
    """The category page edits products inline; a new file there must not be shadowed by the old file id."""
    Product.objects.filter(pk=product.pk).update(file_id="old-telegram-file")
    page = url("category_change", category.pk)
    data = change_form_data(admin_client.get(page))
    data["products-0-file"] = SimpleUploadedFile("guide.pdf", b"%PDF-new")

    response = admin_client.post(page, data)

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.file.name.startswith("products/guide")
    assert product.file_id == ""


# --- Product page: sales and the card as the bot shows it -------------------------------------------


def test_product_page_shows_units_sold_and_revenue_per_currency(admin_client, buyer, bob, product):
    PurchaseFactory(user=buyer, product=product)
    PurchaseFactory(user=bob, product=product, in_roubles=True)
    PurchaseFactory(user=bob, product=product, refunded=True)

    response = admin_client.get(url("product_change", product.pk))

    assert '<div class="readonly">2</div>' in response.text  # the refund is not a sale
    assert '<div class="readonly"><span class="nowrap">⭐ 50</span><br><span class="nowrap">990 ₽</span></div>' in (response.text)


def test_staff_who_may_not_see_purchases_do_not_see_a_products_revenue(buyer, product):
    PurchaseFactory(user=buyer, product=product, in_roubles=True)
    catalog = staff_client("catalog", "view_product", "change_product")

    page = catalog.get(url("product_change", product.pk))

    assert page.status_code == 200
    assert "field-sold" in page.text  # units sold are the catalog's business; the money is not
    assert "field-revenue" not in page.text and "990 ₽" not in page.text
    accountant = staff_client("accountant", "view_product", "view_purchase")
    assert "990 ₽" in accountant.get(url("product_change", product.pk)).text


def test_product_list_sold_column_excludes_refunds(admin_client, buyer, product):
    PurchaseFactory(user=buyer, product=product)
    PurchaseFactory(user=buyer, product=product, refunded=True)

    response = admin_client.get(url("product_changelist"))

    assert '<td class="field-sold">1</td>' in response.text


def preview(response) -> str:
    text = response.text
    start = text.index('<div class="tg-preview">')
    return text[start : text.index("</ul></div>", start)]


def test_product_page_previews_the_card_and_its_buttons(admin_client, product):
    product.description = (
        'A <b>great</b> &amp; <i>fast</i> editor. <a href="https://example.com/docs">Docs</a>\n'
        '<span class="tg-spoiler">Bonus</span> <tg-spoiler>inside</tg-spoiler> <code>x &lt; y</code>'
    )
    product.save()

    card = preview(admin_client.get(url("product_change", product.pk)))

    assert "<b>Editor Pro</b>" in card
    assert "A <b>great</b> &amp; <i>fast</i> editor." in card
    assert '<a href="https://example.com/docs" target="_blank" rel="noopener noreferrer">Docs</a>' in card
    assert '<span class="tg-spoiler">Bonus</span> <span class="tg-spoiler">inside</span>' in card
    assert "<code>x &lt; y</code>" in card
    assert "Price: ⭐ 50" in card
    assert "<li>Buy for ⭐ 50</li><li>« Back</li>" in card


def test_preview_of_free_and_off_sale_products(admin_client, category):
    free = ProductFactory(category=category, price=0)
    off_sale = ProductFactory(category=category, price=30, is_active=False)

    free_card = preview(admin_client.get(url("product_change", free.pk)))
    off_card = preview(admin_client.get(url("product_change", off_sale.pk)))

    assert "<li>🎁 Get it free</li>" in free_card
    assert "Price: Free" in free_card
    assert "This product is no longer on sale." in off_card
    assert "Buy for" not in off_card
    assert "<li>« Back</li>" in off_card


def test_preview_escapes_the_product_name(admin_client, category):
    product = ProductFactory(category=category, name="<script>alert(1)</script>")

    card = preview(admin_client.get(url("product_change", product.pk)))

    assert "<script>" not in card
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card


def test_add_page_explains_the_preview_comes_after_saving(admin_client, category):
    response = admin_client.get(url("product_add"))

    assert "Save the product to see its card." in response.text

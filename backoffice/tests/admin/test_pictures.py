"""Pictures in the admin: uploaded on a product's or category's page, checked and resized, shown in the
card preview and to staff only."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from backoffice.testing import change_form_data, url
from botapp import texts
from shop.models import Category, Product
from shop.reviews.services import review_rate
from shop.telegram_html import visible_length
from shop.testing.factories import ProductFactory, PurchaseFactory, UserFactory
from shop.testing.pictures import opened, picture_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def upload_picture(client, page: str, upload, prefix: str = ""):
    data = change_form_data(client.get(page))
    data[f"{prefix}picture"] = upload
    return client.post(page, data)


def test_a_product_picture_uploaded_on_its_page_is_stored_resized_as_a_jpeg(admin_client, media, product):
    Product.objects.filter(pk=product.pk).update(picture_file_id="id-of-the-old-picture")

    response = upload_picture(admin_client, url("product_change", product.pk), picture_upload("Box Art.png", "PNG", (3000, 2000)))

    assert response.status_code == 302, response.context["adminform"].form.errors
    product.refresh_from_db()
    assert product.picture.name.startswith("pictures/products/box-art")
    stored = opened((media / product.picture.name).read_bytes())
    assert (stored.format, stored.size) == ("JPEG", (1280, 853))
    assert product.picture_file_id == ""  # the new picture is uploaded to Telegram when first shown


def test_saving_a_product_without_touching_its_picture_keeps_telegrams_id(admin_client, media, product):
    product.picture.save("a.jpg", picture_upload())
    Product.objects.filter(pk=product.pk).update(picture_file_id="telegram-id")
    page = url("product_change", product.pk)
    data = change_form_data(admin_client.get(page))
    data["price"] = "70"

    assert admin_client.post(page, data).status_code == 302

    product.refresh_from_db()
    assert (product.price, product.picture_file_id) == (70, "telegram-id")


def test_clearing_a_picture_forgets_telegrams_id(admin_client, media, product):
    product.picture.save("a.jpg", picture_upload())
    Product.objects.filter(pk=product.pk).update(picture_file_id="telegram-id")
    page = url("product_change", product.pk)
    data = change_form_data(admin_client.get(page))
    data["picture-clear"] = "on"

    assert admin_client.post(page, data).status_code == 302

    product.refresh_from_db()
    assert (product.picture.name, product.picture_file_id) == ("", "")


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("notes.jpg", b"just some text, not a picture"), "This file is not a picture"),
        (SimpleUploadedFile("huge.jpg", b"\xff\xd8" + b"0" * (10 * 1024 * 1024 + 1)), "upload one of at most 10.0 MB"),
        (picture_upload("strip.png", "PNG", (4200, 100)), "too long and narrow for Telegram"),
        (picture_upload("anim.gif", "GIF", (10, 10), mode="P", color=1), "upload a JPEG, PNG or WebP picture"),
    ],
    ids=["not-an-image", "over-10-mb", "too-narrow", "gif"],
)
def test_a_wrong_picture_is_refused_with_a_clear_error_and_nothing_is_saved(admin_client, media, product, upload, message):
    response = upload_picture(admin_client, url("product_change", product.pk), upload)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["picture"]
    assert any(message in error for error in errors), errors
    product.refresh_from_db()
    assert product.picture.name == ""
    assert not (media / "pictures").exists()


def test_a_category_picture_is_uploaded_and_shown_on_its_page(admin_client, media, category):
    Category.objects.filter(pk=category.pk).update(picture_file_id="id-of-the-old-picture")
    page = url("category_change", category.pk)

    response = upload_picture(admin_client, page, picture_upload("keys.webp", "WEBP", (2000, 2000)))

    assert response.status_code == 302, response.context["adminform"].form.errors
    category.refresh_from_db()
    assert category.picture.name.startswith("pictures/categories/keys")
    assert opened((media / category.picture.name).read_bytes()).size == (1280, 1280)
    assert category.picture_file_id == ""
    shown = admin_client.get(page).text
    assert f'<img class="picture-shown" src="/media/{category.picture.name}" alt="">' in shown


def test_the_card_preview_shows_the_picture_above_the_text(admin_client, media, product):
    product.picture.save("box.jpg", picture_upload())

    page = admin_client.get(url("product_change", product.pk)).text

    start = page.index('<div class="tg-preview">')
    card = page[start : page.index("</ul></div>", start)]
    photo = f'<img class="tg-photo" src="/media/{product.picture.name}"'
    assert card.startswith(f'<div class="tg-preview"><div class="tg-message">{photo}')
    assert card.index("tg-photo") < card.index("<b>Editor Pro</b>")


def rated(product, rating=5):
    reviewer = UserFactory()
    PurchaseFactory(user=reviewer, product=product)
    review_rate(telegram_id=reviewer.telegram_id, product_id=product.pk, rating=rating)


def test_the_card_preview_shows_the_rating_as_the_bot_does(admin_client, media, product):
    product.picture.save("box.jpg", picture_upload())
    rated(product)

    page = admin_client.get(url("product_change", product.pk)).text

    start = page.index('<div class="tg-preview">')
    card = page[start : page.index("</ul></div>", start)]
    assert 'class="tg-photo"' in card and "★ 5.0 (1)" in card


def test_a_card_that_just_fits_a_caption_is_previewed_with_its_picture_and_without_the_rating(admin_client, media, category):
    product = ProductFactory(category=category, name="Manual", description="x")
    product.description = "x" * (texts.CAPTION_LIMIT - visible_length(texts.product_card(product, owned=False)) + 1)
    product.save()
    product.picture.save("box.jpg", picture_upload())
    rated(product)

    page = admin_client.get(url("product_change", product.pk)).text

    start = page.index('<div class="tg-preview">')
    card = page[start : page.index("</ul></div>", start)]
    assert 'class="tg-photo"' in card and "★" not in card
    assert "without the picture" not in page


def test_a_card_too_long_for_a_caption_is_previewed_as_text_with_a_note(admin_client, media, category):
    product = ProductFactory(category=category, description="Long. " * 300)
    product.picture.save("box.jpg", picture_upload())

    page = admin_client.get(url("product_change", product.pk)).text

    assert 'class="tg-photo"' not in page
    assert "the bot shows it as text without the picture" in page


def test_a_product_without_a_picture_is_previewed_as_before(admin_client, product):
    page = admin_client.get(url("product_change", product.pk)).text

    assert 'class="tg-photo"' not in page
    assert "without the picture" not in page


def test_pictures_are_served_to_staff_and_product_files_are_not(admin_client, media, product):
    product.picture.save("box.jpg", picture_upload())
    product.file.save("paid.zip", SimpleUploadedFile("paid.zip", b"PK-paid-goods"))
    picture_url = f"/media/{product.picture.name}"

    response = admin_client.get(picture_url)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert opened(b"".join(response.streaming_content)).format == "JPEG"
    assert admin_client.get(f"/media/{product.file.name}").status_code == 404
    assert admin_client.get("/media/pictures/../" + product.file.name).status_code == 404
    assert admin_client.get("/media/pictures/products/missing.jpg").status_code == 404
    anonymous = Client().get(picture_url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/admin/login/")


def test_a_category_picture_can_be_added_with_a_new_category(admin_client, media):
    response = admin_client.post(
        url("category_add"),
        {
            "category_name": "Games",
            "picture": picture_upload("games.jpg"),
            "products-TOTAL_FORMS": "0",
            "products-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Category.objects.get(category_name="Games").picture.name.startswith("pictures/categories/games")


def test_products_inline_on_the_category_page_keep_their_pictures(admin_client, media, category):
    product = ProductFactory(category=category)
    product.picture.save("box.jpg", picture_upload())
    Product.objects.filter(pk=product.pk).update(picture_file_id="telegram-id")
    page = url("category_change", category.pk)
    data = change_form_data(admin_client.get(page))

    assert admin_client.post(page, data).status_code == 302

    product.refresh_from_db()
    assert (product.picture.name.startswith("pictures/products/box"), product.picture_file_id) == (True, "telegram-id")


def test_a_picture_path_with_a_nul_byte_is_not_found(admin_client, media):
    assert admin_client.get("/media/pictures/products/box%00.jpg").status_code == 404

"""The admin site as a whole: every domain's pages, query counts that do not grow, Russian, who sees the dashboard."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.auth.models import User as StaffUser
from django.urls import reverse

from backoffice.testing import QUERY_BUDGET, bulk_bot_texts, bulk_purchases, count_queries, staff_client, url
from shop.models import BotText, Category, Product, Purchase, User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["category", "product", "bottext"])
def test_add_forms_render(admin_client, model, category):
    response = admin_client.get(url(f"{model}_add"))

    assert response.status_code == 200
    assert 'name="_save"' in response.text


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


@pytest.mark.parametrize("name", ["user_changelist", "purchase_changelist"])
@pytest.mark.parametrize("term", ["ann", "not a number", "12abc", "99999999999999999999999"])
def test_non_numeric_search_on_telegram_id_does_not_crash(admin_client, purchase, name, term):
    response = admin_client.get(url(name), {"q": term})

    assert response.status_code == 200


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


def test_staff_who_may_not_see_purchases_get_the_plain_front_page(db):
    client = staff_client("catalog", "change_product")

    response = client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert "dashboard" not in response.context
    assert 'id="shop-dashboard"' not in response.text
    assert url("product_changelist") in response.text


# --- Sections: the shop's first, staff logins and customers named apart, the machinery for superusers ---


def sections(response) -> list[tuple[str, list[str]]]:
    return [(str(app["name"]), [str(model["name"]) for model in app["models"]]) for app in response.context["app_list"]]


def test_the_owner_sees_the_shop_first_and_staff_accounts_apart_from_customers(admin_client):
    response = admin_client.get(reverse("admin:index"))

    shop = ["Bot texts", "Broadcasts", "Categories", "Customers (Telegram)", "Products", "Purchases", "Unmatched payments"]
    assert sections(response) == [
        ("Shop", shop),
        ("Stock", ["Back-in-stock requests", "Units of stock"]),
        ("Promotions", ["Promo code uses", "Promo codes", "Referrals", "Referrers"]),
        ("Reviews", ["Reviews"]),
        ("Support", ["Support messages"]),
        ("Try the bot", ["Chat with the bot as a test customer"]),
        ("Telegram bot", ["Updates set aside"]),
        ("Chat access", ["Chat access", "Members"]),
        ("Staff", ["Groups", "Staff accounts"]),
        ("System", ["Background tasks"]),
    ]
    sidebar = admin_client.get(url("product_changelist")).context["available_apps"]
    assert [str(app["name"]) for app in sidebar] == [
        "Shop",
        "Stock",
        "Promotions",
        "Reviews",
        "Support",
        "Try the bot",
        "Telegram bot",
        "Chat access",
        "Staff",
        "System",
    ]
    staff_list = admin_client.get(reverse("admin:auth_user_changelist"))
    assert "Select staff account to change" in staff_list.text


def test_in_russian_too(russian):
    response = russian.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="ru")

    names = dict(sections(response))
    assert "Покупатели (Telegram)" in names["Магазин"]
    assert names["Сотрудники"] == ["Группы", "Учётные записи сотрудников"]
    assert names["Система"] == ["Фоновые задачи"]


def test_staff_who_are_not_superusers_never_see_the_background_tasks(db):
    client = staff_client("manager", "view_purchase", "view_product", "view_user")
    StaffUser.objects.get(username="manager").user_permissions.add(
        *Permission.objects.filter(content_type__app_label="django_tasks_database")
    )

    response = client.get(reverse("admin:index"))

    assert [name for name, _models in sections(response)] == ["Shop", "Try the bot"]
    assert "System" not in response.text
    assert client.get(reverse("admin:django_tasks_database_dbtaskresult_changelist")).status_code == 403

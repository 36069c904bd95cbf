"""Texts staff edit in the admin."""

import pytest

from backoffice.testing import result_pks, url
from shop.models import BotText

pytestmark = pytest.mark.django_db


@pytest.fixture
def bot_text(db):
    return BotText.objects.create(key=BotText.Key.HELP, language="en", text="Write to <b>@support</b>.")


def test_bottext_changelist_shows_texts(admin_client, bot_text):
    response = admin_client.get(url("bottext_changelist"))

    assert response.status_code == 200
    assert "Help" in response.text
    assert result_pks(response) == {bot_text.pk}


def test_bottext_change_page_shows_text(admin_client, bot_text):
    response = admin_client.get(url("bottext_change", bot_text.pk))

    assert response.status_code == 200
    assert "Write to &lt;b&gt;@support&lt;/b&gt;." in response.text


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

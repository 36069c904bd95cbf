"""Texts staff edit, in the customer's language (selectors)."""

import pytest

from shop.models import BotText
from shop.selectors.content import bot_text_get

pytestmark = pytest.mark.django_db


def test_bot_text_in_the_users_language(db):
    BotText.objects.create(key="help", language="en", text="Help")
    BotText.objects.create(key="help", language="ru", text="Помощь")
    assert bot_text_get(key="help", language="ru") == "Помощь"
    assert bot_text_get(key="help", language="en") == "Help"


@pytest.mark.parametrize("language", ["ru", "de", ""])
def test_bot_text_falls_back_to_english(db, language):
    BotText.objects.create(key="terms", language="en", text="Terms")
    assert bot_text_get(key="terms", language=language) == "Terms"


def test_bot_text_none_when_nothing_written(db):
    BotText.objects.create(key="help", language="ru", text="Помощь")
    assert bot_text_get(key="terms", language="ru") is None
    assert bot_text_get(key="help", language="en") is None


def test_bot_text_is_one_query(db, django_assert_num_queries):
    BotText.objects.create(key="help", language="en", text="Help")
    with django_assert_num_queries(1):
        bot_text_get(key="help", language="ru")

"""The texts of chat access, in every language: valid Telegram HTML, names escaped, answers to button presses
within Telegram's 200 characters, buttons short."""

import datetime

import pytest
from django.utils import translation

from botapp import texts
from shop.access.models import Membership
from shop.telegram_html import validate_telegram_html

WHEN = datetime.datetime(2026, 1, 2, 12, tzinfo=datetime.UTC)
NAME = "<Club & co>"


def memberships() -> list[Membership]:
    return [
        Membership(state="active", for_good=True, since=WHEN),
        Membership(state="active", paid_until=WHEN, renewing=True, since=WHEN),
        Membership(state="active", paid_until=WHEN, renewing=False, since=WHEN),
        Membership(state="ended", paid_until=WHEN, ended_at=WHEN, since=WHEN),
    ]


@pytest.mark.parametrize("language", ["en", "ru"])
def test_access_texts_are_valid_html_and_escape_names(language):
    with translation.override(language):
        messages = [
            *(texts.access_state(m, subscription=True) for m in memberships()),
            texts.subscription_terms("⭐ 300"),
            texts.subscribe_prompt(NAME, "⭐ 300"),
            texts.access_heading(NAME),
            texts.access_join_request_hint(),
            texts.access_invite_hint(),
            texts.access_renewed(NAME, "2 Jan 2026"),
            texts.access_already_member(NAME),
            *(texts.access_ended(NAME, reason) for reason in ("not_renewed", "expired", "refunded", "revoked")),
        ]
    for text in messages:
        assert text.strip()
        validate_telegram_html(text)
    assert all("<Club" not in text for text in messages)


@pytest.mark.parametrize("language", ["en", "ru"])
def test_answers_and_buttons_fit(language):
    with translation.override(language):
        answers = [
            texts.renewal_change_failed(),
            texts.access_not_active(),
            texts.access_needs_staff(),
            texts.renewal_cancelled("31 Dec 2026"),
            texts.renewal_resumed("31 Dec 2026"),
        ]
        buttons = [
            texts.button_subscribe("⭐ 10000"),
            texts.button_pay("⭐ 10000"),
            texts.button_join("C" * 255),
            texts.button_new_link(),
            texts.button_cancel_renewal(),
            texts.button_resume_renewal(),
        ]
    assert all(0 < len(answer) <= 200 for answer in answers)
    assert all(0 < len(button) <= texts.BUTTON_TEXT_LIMIT for button in buttons)

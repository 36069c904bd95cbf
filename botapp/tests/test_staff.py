"""Staff (ADMIN_IDS) sending the bot a file get its kind and file id back, to paste into a product."""

import pytest

from botapp.testing import updates
from botapp.testing.helpers import leaks, sent_to
from shop.models import FileKind

pytestmark = pytest.mark.django_db

NOT_UNDERSTOOD = "Sorry, I did not understand that."


@pytest.fixture(autouse=True)
def staff(settings):
    settings.ADMIN_IDS = [42]


def test_staff_document_gets_its_file_id_back(send, fake_api, customer):
    send(updates.document(customer, "BQACAgIAAxkBAAIBQ2"))

    [reply] = sent_to(fake_api, 42)
    assert reply.params["text"].startswith("📄 Document\n")
    assert "<code>BQACAgIAAxkBAAIBQ2</code>" in reply.params["text"]
    assert "«Telegram file id» field" in reply.params["text"]
    assert reply.params["parse_mode"] == "HTML"


@pytest.mark.parametrize(
    ("kind", "named"),
    [
        ("photo", "🖼 Photo"),
        ("video", "🎬 Video"),
        ("audio", "🎵 Audio"),
        ("voice", "🎤 Voice message"),
        ("animation", "🎞 Animation (GIF)"),
    ],
)
def test_staff_media_gets_its_kind_and_file_id_back(send, fake_api, customer, kind, named):
    update = updates.media(customer, kind, "AgACAgIAAxkBAAIC")

    send(update)

    [reply] = sent_to(fake_api, 42)
    assert reply.params["text"].startswith(named + "\n")
    assert "<code>AgACAgIAAxkBAAIC</code>" in reply.params["text"]  # a photo's largest size
    assert f"Set the product's «file kind» to “{FileKind(kind).label}” too." in reply.params["text"]
    assert reply.json("reply_parameters")["message_id"] == update["message"]["message_id"]


@pytest.mark.parametrize("kind", ["document", "photo", "voice"])
def test_media_from_a_customer_is_not_understood_and_gets_no_file_id(settings, send, fake_api, customer, kind):
    settings.ADMIN_IDS = [777]

    send(updates.media(customer, kind, "BQACAgIAAxkBAAIBQ2"))

    [reply] = sent_to(fake_api, 42)
    assert reply.params["text"].startswith(NOT_UNDERSTOOD)
    assert leaks(fake_api, "BQACAgIAAxkBAAIBQ2") == []

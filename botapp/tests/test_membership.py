from botapp.testing import updates
from shop.models import User
from shop.services.customers import user_sync_from_telegram


def test_blocking_and_unblocking_the_bot_is_recorded(send, fake_api, customer, db):
    user_sync_from_telegram(telegram_id=customer["id"], first_name="Ann")

    send(updates.my_chat_member(customer, "kicked"))
    assert User.objects.get(telegram_id=customer["id"]).is_blocked is True

    send(updates.my_chat_member(customer, "member", old_status="kicked"))
    assert User.objects.get(telegram_id=customer["id"]).is_blocked is False
    assert fake_api.calls_of("sendMessage") == []  # nothing to say to a membership change


def test_blocking_by_someone_we_never_met_creates_nobody(send, customer, db):
    send(updates.my_chat_member(customer, "kicked"))
    assert not User.objects.exists()

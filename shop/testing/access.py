"""Products that open a chat (shop.access), for tests: `ChannelProductFactory()` sells access for good,
`SubscriptionProductFactory()` a monthly Stars subscription; both to the chat `CHAT_ID`."""

import factory
from factory.django import DjangoModelFactory

from shop.access.models import ChatAccess
from shop.testing.factories import ProductFactory

CHAT_ID = -1001234567890


class ChatAccessFactory(DjangoModelFactory):
    class Meta:
        model = ChatAccess

    product = factory.SubFactory(ProductFactory, hidden_content="Welcome to the club!")
    chat_id = CHAT_ID
    chat_title = "Private club"


class ChannelProductFactory(ProductFactory):
    """Access to the chat for good, for one payment (join requests the bot approves for buyers)."""

    class Meta:
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Club {n}")
    hidden_content = "Welcome to the club!"
    price = 50
    access = factory.RelatedFactory(ChatAccessFactory, factory_related_name="product")


class SubscriptionProductFactory(ChannelProductFactory):
    """Access to the chat by a monthly Stars subscription."""

    access = factory.RelatedFactory(ChatAccessFactory, factory_related_name="product", mode=ChatAccess.Mode.SUBSCRIPTION)

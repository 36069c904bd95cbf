"""The shop's models, one module per domain; all of them importable from here."""

from shop.models.base import TimeStampedModel
from shop.models.broadcasts import BROADCAST_TEXT_MAX_LENGTH, Broadcast, BroadcastRecipient
from shop.models.catalog import (
    BOT_UPLOAD_LIMIT,
    DESCRIPTION_MAX_LENGTH,
    HIDDEN_CONTENT_MAX_LENGTH,
    MAX_PER_ORDER,
    CatalogVersion,
    Category,
    FileKind,
    Product,
    validate_bot_upload_size,
)
from shop.models.content import BotText
from shop.models.customers import User
from shop.models.purchases import Purchase, PurchaseQuerySet, UnmatchedPayment

__all__ = [
    "BOT_UPLOAD_LIMIT",
    "BROADCAST_TEXT_MAX_LENGTH",
    "DESCRIPTION_MAX_LENGTH",
    "HIDDEN_CONTENT_MAX_LENGTH",
    "MAX_PER_ORDER",
    "BotText",
    "Broadcast",
    "BroadcastRecipient",
    "CatalogVersion",
    "Category",
    "FileKind",
    "Product",
    "Purchase",
    "PurchaseQuerySet",
    "TimeStampedModel",
    "UnmatchedPayment",
    "User",
    "validate_bot_upload_size",
]

"""The ModelAdmins, one module per domain; importing them registers them with the admin site."""

from backoffice.admin import (  # noqa: F401
    access,
    broadcasts,
    catalog,
    content,
    customers,
    promotions,
    purchases,
    reviews,
    staff,
    stock,
    support,
    system,
    updates,
)

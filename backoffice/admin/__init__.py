"""The ModelAdmins, one module per domain; importing them registers them with the admin site."""

from backoffice.admin import broadcasts, catalog, content, customers, purchases, stock, support, updates  # noqa: F401

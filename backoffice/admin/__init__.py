"""The ModelAdmins, one module per domain; importing them registers them with the admin site."""

from backoffice.admin import broadcasts, catalog, content, customers, purchases, staff, system, updates  # noqa: F401

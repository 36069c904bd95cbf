"""Staff accounts: Django's logins and groups, named apart from the shop's customers.

"Users" would be both: the people who log in here, and the Telegram users who buy (the shop's
User model, shown as "Customers (Telegram)"). Only the names the admin shows change: the models'
own options, which migrations record, are left as they are.
"""

from django.apps import apps
from django.contrib.auth.models import User as StaffUser
from django.utils.translation import gettext_lazy as _

from shop.models import User as Customer

apps.get_app_config("auth").verbose_name = _("Staff")
StaffUser._meta.verbose_name = _("staff account")
StaffUser._meta.verbose_name_plural = _("staff accounts")
Customer._meta.verbose_name_plural = _("customers (Telegram)")

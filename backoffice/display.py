"""How staff pages show a shop value the same way everywhere: a purchase's status."""

from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from shop.models import Purchase


def purchase_status(purchase: Purchase) -> SafeString:
    """`Paid`, `Refunded`, with what needs staff's eye: `needs review`, or `not delivered` yet."""
    status = purchase.get_status_display()
    if purchase.payment_type == Purchase.PaymentType.TEST:  # staff trying the bot: no money, counts nowhere
        return format_html('<span class="badge badge-warning">{}</span>', _("Test: not paid"))
    if purchase.review_reason:
        return format_html('{} <span class="badge badge-warning">{}</span>', status, _("needs review"))
    if purchase.status == Purchase.Status.REFUNDED:
        return format_html('<span class="badge badge-muted">{}</span>', status)
    if purchase.delivered_at is None:
        return format_html('{} <span class="badge badge-muted">{}</span>', status, _("not delivered"))
    return format_html("{}", status)

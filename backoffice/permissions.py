"""Who among staff may see what, beyond Django's per-model permissions."""


def may_see_revenue(request) -> bool:
    """What customers paid (spent, revenue, sales figures) is for staff who may look at purchases."""
    return request.user.has_perm("shop.view_purchase") or request.user.has_perm("shop.change_purchase")

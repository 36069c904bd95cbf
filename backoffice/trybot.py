"""Try the bot: a chat with the real bot in the admin, without Telegram (botapp/simulator.py).

The page is a small script over JSON endpoints: send a text, press a button, pay an invoice (test),
start over, and poll the chat. Each staff member talks as their own test customer. Staff only
(the admin's login), CSRF-protected like every admin form.
"""

import json

from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from botapp.simulator import Outcome, TrialChat

TITLE = gettext_lazy("Try the bot")


def may_try_the_bot(request) -> bool:
    """Staff who may look at the products: trying the bot shows them all, as a customer sees them."""
    return request.user.is_active and request.user.is_staff and request.user.has_perm("shop.view_product")


def _chat(request) -> TrialChat:
    if not may_try_the_bot(request):
        raise PermissionDenied
    return TrialChat(
        staff_id=request.user.pk,
        name=request.user.get_short_name() or request.user.get_username(),
        language_code=getattr(request, "LANGUAGE_CODE", "en") or "en",
    )


def _body(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def _answer(chat: TrialChat, outcome: Outcome | None = None) -> JsonResponse:
    outcome = outcome or Outcome()
    return JsonResponse({"messages": chat.messages(), "toasts": outcome.toasts, "checkout_error": outcome.checkout_error})


def _message_id(body: dict) -> int | None:
    value = body.get("message_id")
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31 else None


def page_view(site, request):
    if not may_try_the_bot(request):
        raise PermissionDenied
    context = {**site.each_context(request), "title": TITLE, "endpoints": _endpoints()}
    return TemplateResponse(request, "admin/trybot/chat.html", context)


@require_GET
def messages_view(request):
    return _answer(_chat(request))


@require_POST
def send_view(request):
    chat = _chat(request)
    text = _body(request).get("text")
    if not isinstance(text, str):
        return HttpResponseBadRequest(_("Write a message."))
    return _answer(chat, chat.send_text(text))


@require_POST
def press_view(request):
    chat = _chat(request)
    body = _body(request)
    message_id, data = _message_id(body), body.get("data")
    if message_id is None or not isinstance(data, str):
        return HttpResponseBadRequest(_("No such button."))
    return _answer(chat, chat.press(message_id=message_id, data=data))


@require_POST
def pay_view(request):
    chat = _chat(request)
    message_id = _message_id(_body(request))
    if message_id is None:
        return HttpResponseBadRequest(_("No such invoice."))
    return _answer(chat, chat.pay(message_id=message_id))


@require_POST
def start_over_view(request):
    chat = _chat(request)
    chat.start_over()
    return _answer(chat)


ENDPOINTS = {
    "messages": messages_view,
    "send": send_view,
    "press": press_view,
    "pay": pay_view,
    "start_over": start_over_view,
}


def _endpoints() -> dict:
    return {name: reverse(f"admin:trybot_{name}") for name in ENDPOINTS}


def trybot_urls(site) -> list:
    """The page and its endpoints, behind the admin's login (staff only) and CSRF protection."""
    return [
        path("try-the-bot/", site.admin_view(lambda request: page_view(site, request)), name="trybot"),
        *(
            path(f"try-the-bot/{name.replace('_', '-')}/", site.admin_view(view), name=f"trybot_{name}")
            for name, view in ENDPOINTS.items()
        ),
    ]


def trybot_app(request) -> dict:
    """The page's entry in the admin's index and sidebar."""
    url = reverse("admin:trybot")
    return {
        "name": TITLE,
        "app_label": "trybot",
        "app_url": url,
        "has_module_perms": True,
        "models": [
            {
                "name": _("Chat with the bot as a test customer"),
                "object_name": "TryTheBot",
                "admin_url": url,
                "add_url": None,
                "view_only": True,
                "perms": {"view": True},
            }
        ],
    }

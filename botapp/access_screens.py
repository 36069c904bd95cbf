"""What the bot shows for a product that opens a chat: its card with the customer's access, and the subscribe
message carrying Telegram's invoice link."""

from telebot.types import InlineKeyboardButton, InlineKeyboardMarkup

from botapp import callbacks, screens, texts
from botapp.screens import Screen
from shop.access.models import ChatAccess, Membership
from shop.access.selectors import chat_access_get, membership_get
from shop.access.services import membership_may_change_renewal
from shop.money import format_price


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def access_card(
    product, *, access: ChatAccess, membership: Membership | None, active: bool, back: callbacks.Back, can_change_renewal: bool
) -> Screen:
    """`active`: the membership lets the customer in now; `can_change_renewal`: a subscription's paid period lasts."""
    text = texts.product_card(product, owned=False)
    price = format_price(product.price, product.currency)
    if access.is_subscription and not active:
        text += "\n" + texts.subscription_terms(price)
    if membership is not None:
        text += "\n\n" + texts.access_state(membership, subscription=access.is_subscription)
    rows = []
    if active:
        rows.append([_button(texts.button_new_link(), callbacks.access_link(product.pk))])
        if can_change_renewal:
            if membership.renewing:
                rows.append([_button(texts.button_cancel_renewal(), callbacks.access_cancel(product.pk))])
            else:
                rows.append([_button(texts.button_resume_renewal(), callbacks.access_resume(product.pk))])
    elif product.is_active:
        label = texts.button_subscribe(price) if access.is_subscription else texts.button_buy(product)
        rows.append([_button(label, callbacks.buy(product.pk))])
    rows.append([_button(texts.button_back(), screens._back_data(back))])
    markup = InlineKeyboardMarkup()
    for row in rows:
        markup.row(*row)
    return Screen(text, markup)


def subscribe_message(product, link: str) -> Screen:
    """The subscription's invoice: Telegram opens its payment form from the link's button."""
    price = format_price(product.price, product.currency)
    markup = InlineKeyboardMarkup()
    markup.row(InlineKeyboardButton(texts.button_pay(price), url=link))
    return Screen(texts.subscribe_prompt(product.name, price), markup)


def access_card_for(product, *, telegram_id: int, back: callbacks.Back) -> Screen | None:
    """The card of a product that opens a chat (annotated with `owned`: access lasts), as `telegram_id` sees it;
    None if the product opens none (after all)."""
    access = chat_access_get(product_id=product.pk)
    if access is None:
        return None
    membership = membership_get(telegram_id=telegram_id, product_id=product.pk)
    return access_card(
        product,
        access=access,
        membership=membership,
        active=bool(product.owned),
        back=back,
        can_change_renewal=membership is not None and membership_may_change_renewal(membership=membership),
    )

"""The fake Bot API's channels and groups, invite links, join requests, invoice links and Stars subscriptions.

Mixed into `FakeBotAPI`. A test sets a chat up (`add_chat`: the bot an administrator with or without
the rights it needs, or not in the chat at all) and the fake answers as Telegram does: getChat and
getChatMember, createChatInviteLink, revokeChatInviteLink, approve/declineChatJoinRequest (only for a pending request),
banChatMember/unbanChatMember (only with the right to restrict members, never an administrator),
createInvoiceLink (parameters checked in telegram_rules) and editUserStarSubscription (only for a
subscription payment the fake has seen). Refusals are raised as `ChatRefused`, answered with 400.
"""

import itertools
from dataclasses import dataclass, field

BOT_ID = 1  # the fake's bot (fake_bot_api.BOT_USER)
ADMIN_RIGHTS = ("can_invite_users", "can_restrict_members")  # what the shop needs
# Every right ChatMemberAdministrator carries (core.telegram.org/bots/api#chatmemberadministrator)
ALL_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)


class ChatRefused(Exception):
    """A call about a chat or a subscription Telegram answers with 400 and this description."""


@dataclass
class FakeChat:
    id: int
    title: str
    type: str = "channel"
    bot_status: str | None = "administrator"  # None: the bot is not in the chat (or it was deleted)
    bot_rights: dict = field(default_factory=lambda: dict.fromkeys(ALL_RIGHTS, True))
    members: dict[int, str] = field(default_factory=dict)  # user id: "member", "administrator", "left", "kicked"
    join_requests: set[int] = field(default_factory=set)
    links: dict[str, dict] = field(default_factory=dict)  # invite link: the ChatInviteLink


_links = itertools.count(1)


class ChatsAndSubscriptions:
    """What the fake knows about chats and subscriptions; its methods are `api_<method>` like the fake's."""

    @property
    def chats(self) -> dict[int, FakeChat]:
        if not hasattr(self, "_chats"):
            self._chats: dict[int, FakeChat] = {}
            self.invoice_links: dict[str, dict] = {}  # link: the createInvoiceLink parameters
            self.star_subscriptions: dict[str, dict] = {}  # charge id: {"user_id", "canceled"}
        return self._chats

    # --- what tests do ---
    def add_chat(self, chat_id: int, title: str = "Private club", *, type: str = "channel", bot_status="administrator", **rights):
        """A chat the bot is in as `bot_status` (None: not in it), with the administrator `rights` given (default: all)."""
        chat = FakeChat(chat_id, title, type, bot_status, {**dict.fromkeys(ALL_RIGHTS, True), **rights})
        self.chats[chat_id] = chat
        return chat

    def join_request(self, chat_id: int, user_id: int) -> dict:
        """`user_id` asks to join the chat: Telegram keeps the request for the bot to approve or decline.
        Returns the chat as the chat_join_request update shows it (botapp.testing.updates.chat_join_request)."""
        chat = self.chats[chat_id]
        chat.join_requests.add(user_id)
        return self._chat_json(chat)

    def join(self, chat_id: int, user_id: int) -> None:
        """The user joins by an invite link (one that needs no approval)."""
        self.chats[chat_id].members[user_id] = "member"

    def member_status(self, chat_id: int, user_id: int) -> str:
        return self.chats[chat_id].members.get(user_id, "left")

    def subscription_paid(self, user_id: int, charge_id: str) -> None:
        """Telegram took a subscription's payment under `charge_id` (the bot may then cancel or resume it)."""
        self.chats  # noqa: B018 (creates the state)
        self.star_subscriptions.setdefault(charge_id, {"user_id": user_id, "canceled": False})

    # --- the API ---
    @staticmethod
    def _chat_json(chat: FakeChat) -> dict:
        return {"id": chat.id, "type": chat.type, "title": chat.title}

    def _chat(self, params, *, needs: str | None = None) -> FakeChat:
        chat = self.chats.get(int(params["chat_id"]))
        if chat is None or chat.bot_status is None:
            raise ChatRefused("Bad Request: chat not found")
        if needs and (chat.bot_status not in ("administrator", "creator") or not chat.bot_rights.get(needs)):
            raise ChatRefused(
                "Bad Request: not enough rights to manage chat invite link"
                if needs == "can_invite_users"
                else "Bad Request: not enough rights to restrict/unrestrict chat member"
            )
        return chat

    def api_getChat(self, params):
        chat = self._chat(params)
        return {**self._chat_json(chat), "accent_color_id": 0, "max_reaction_count": 11}

    def api_getChatMember(self, params):
        chat = self._chat(params)
        user_id = int(params["user_id"])
        if user_id == BOT_ID:
            member = {"user": {"id": BOT_ID, "is_bot": True, "first_name": "Shop"}, "status": chat.bot_status}
            if chat.bot_status == "administrator":
                member |= {"can_be_edited": False, "is_anonymous": False, **chat.bot_rights}
            return member
        status = chat.members.get(user_id, "left")
        member = {"user": {"id": user_id, "is_bot": False, "first_name": "User"}, "status": status}
        return member | ({"until_date": 0} if status == "kicked" else {})

    def api_createChatInviteLink(self, params):
        chat = self._chat(params, needs="can_invite_users")
        link = {
            "invite_link": f"https://t.me/+fake{next(_links):06d}",
            "creator": {"id": BOT_ID, "is_bot": True, "first_name": "Shop"},
            "creates_join_request": params.get("creates_join_request") == "True",
            "is_primary": False,
            "is_revoked": False,
        }
        for key in ("name",):
            if params.get(key):
                link[key] = params[key]
        for key in ("expire_date", "member_limit"):
            if params.get(key):
                link[key] = int(params[key])
        chat.links[link["invite_link"]] = link
        return link

    def api_revokeChatInviteLink(self, params):
        chat = self._chat(params, needs="can_invite_users")
        link = chat.links.get(params.get("invite_link", ""))
        if link is None:
            raise ChatRefused("Bad Request: INVITE_HASH_EXPIRED")
        link["is_revoked"] = True
        return link

    def _pending_request(self, params) -> tuple[FakeChat, int]:
        chat = self._chat(params, needs="can_invite_users")
        user_id = int(params["user_id"])
        if user_id not in chat.join_requests:
            raise ChatRefused("Bad Request: HIDE_REQUESTER_MISSING")
        chat.join_requests.discard(user_id)
        return chat, user_id

    def api_approveChatJoinRequest(self, params):
        chat, user_id = self._pending_request(params)
        chat.members[user_id] = "member"
        return True

    def api_declineChatJoinRequest(self, params):
        self._pending_request(params)
        return True

    def api_banChatMember(self, params):
        chat = self._chat(params, needs="can_restrict_members")
        user_id = int(params["user_id"])
        if chat.members.get(user_id) in ("administrator", "creator"):
            raise ChatRefused("Bad Request: user is an administrator of the chat")
        chat.members[user_id] = "kicked"
        return True

    def api_unbanChatMember(self, params):
        chat = self._chat(params, needs="can_restrict_members")
        user_id = int(params["user_id"])
        status = chat.members.get(user_id, "left")
        if params.get("only_if_banned") == "True" and status != "kicked":
            return True
        if status in ("administrator", "creator"):
            raise ChatRefused("Bad Request: user is an administrator of the chat")
        chat.members[user_id] = "left"  # unbanned: may join again, but is not in the chat
        return True

    def api_createInvoiceLink(self, params):
        self.chats  # noqa: B018 (creates the state)
        link = f"https://t.me/$fake-invoice-{next(_links):06d}"
        self.invoice_links[link] = dict(params)
        return link

    def api_editUserStarSubscription(self, params):
        self.chats  # noqa: B018 (creates the state)
        subscription = self.star_subscriptions.get(params["telegram_payment_charge_id"])
        if subscription is None or subscription["user_id"] != int(params["user_id"]):
            raise ChatRefused("Bad Request: CHARGE_ID_INVALID")
        subscription["canceled"] = params["is_canceled"].lower() == "true"
        return True

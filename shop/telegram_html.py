"""Telegram's HTML subset: validation for what staff type, measuring and escaping.

Telegram rejects a whole message when its HTML is malformed, so the admin refuses such
markup before it can break a product card or a delivery.
See https://core.telegram.org/bots/api#html-style
"""

import html
import re
from html.parser import HTMLParser

from django.core.exceptions import ValidationError
from django.utils.html import escape as escape_web
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

# tag -> attributes it may carry
ALLOWED_TAGS: dict[str, set[str]] = {
    "b": set(),
    "strong": set(),
    "i": set(),
    "em": set(),
    "u": set(),
    "ins": set(),
    "s": set(),
    "strike": set(),
    "del": set(),
    "span": {"class"},
    "tg-spoiler": set(),
    "a": {"href"},
    "code": {"class"},
    "pre": set(),
    "blockquote": {"expandable"},
    "tg-emoji": {"emoji-id"},
}
# Telegram understands only these named entities; numeric ones are fine.
NAMED_ENTITIES = {"lt", "gt", "amp", "quot"}
_ENTITY_RE = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
_TAG_RE = re.compile(r"<[^>]*>")
_TAG_START_RE = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(\s[^<>]*)?/?>")


class _TelegramHTMLChecker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self.errors.append(_("Tag <%(tag)s> is not supported by Telegram.") % {"tag": tag})
            self.stack.append(tag)  # so its end tag is not reported a second time
            return
        for name, _value in attrs:
            if name not in ALLOWED_TAGS[tag]:
                self.errors.append(_("Attribute %(attr)s is not allowed on <%(tag)s>.") % {"attr": name, "tag": tag})
        attrs = dict(attrs)
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            self.errors.append(_('<span> is only allowed as <span class="tg-spoiler">.'))
        if tag == "a" and not attrs.get("href"):
            self.errors.append(_("A link <a> needs an href."))
        self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.errors.append(_("Self-closing tag <%(tag)s/> is not supported by Telegram.") % {"tag": tag})

    def handle_endtag(self, tag):
        if tag not in ALLOWED_TAGS and tag not in self.stack:
            self.errors.append(_("Tag </%(tag)s> is not supported by Telegram.") % {"tag": tag})
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(_("Closing tag </%(tag)s> does not match an open tag.") % {"tag": tag})
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()

    def handle_entityref(self, name):
        if name not in NAMED_ENTITIES:
            self.errors.append(
                _("&%(name)s; is not understood by Telegram; only &lt; &gt; &amp; &quot; and numeric entities are.")
                % {"name": name}
            )

    def handle_comment(self, data):
        self.errors.append(_("HTML comments are not supported by Telegram."))

    def handle_decl(self, decl):
        self.errors.append(_("Declarations are not supported by Telegram."))


def validate_telegram_html(value: str) -> None:
    """Raise ValidationError if Telegram would refuse `value` as HTML."""
    checker = _TelegramHTMLChecker()
    # A bare "&" that starts no entity, and a "<" that opens no tag, break Telegram's parser.
    for match in re.finditer(r"&", value):
        if not _ENTITY_RE.match(value, match.start()):
            checker.errors.append(_('Write a bare "&" as &amp;.'))
            break
    for match in re.finditer(r"<", value):
        if not _TAG_START_RE.match(value, match.start()):
            checker.errors.append(_('Write a bare "<" as &lt;.'))
            break
    checker.feed(value)
    checker.close()
    if checker.stack:
        checker.errors.append(_("These tags are not closed: %(tags)s.") % {"tags": ", ".join(f"<{t}>" for t in checker.stack)})
    if checker.errors:
        # Same message once is enough.
        raise ValidationError(list(dict.fromkeys(checker.errors)))


def visible_text(value: str) -> str:
    """The text a reader sees: tags removed, entities decoded."""
    return html.unescape(_TAG_RE.sub("", value))


def visible_length(value: str) -> int:
    # Telegram counts message length in UTF-16 code units.
    return len(visible_text(value).encode("utf-16-le")) // 2


def escape(value: str) -> str:
    """Escape text that came from a person (names, usernames) for HTML parse mode."""
    return html.escape(value or "", quote=False)


# Telegram tag -> the web page's tag, for previews in the admin.
_PREVIEW_TAGS = {
    **dict.fromkeys(["b", "strong"], "b"),
    **dict.fromkeys(["i", "em"], "i"),
    **dict.fromkeys(["u", "ins"], "u"),
    **dict.fromkeys(["s", "strike", "del"], "s"),
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_PREVIEW_LINK_SCHEMES = ("http://", "https://", "tg://", "mailto:")


class _PreviewRenderer(HTMLParser):
    """Rebuilds the markup from a whitelist: every text escaped, every tag and attribute re-made."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[tuple[str, str]] = []  # (Telegram tag, what closes it on the page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        href = (attrs.get("href") or "").strip()
        if tag in _PREVIEW_TAGS:
            start, end = f"<{_PREVIEW_TAGS[tag]}>", f"</{_PREVIEW_TAGS[tag]}>"
        elif tag == "tg-spoiler" or (tag == "span" and attrs.get("class") == "tg-spoiler"):
            start, end = '<span class="tg-spoiler">', "</span>"
        elif tag == "a" and href.lower().startswith(_PREVIEW_LINK_SCHEMES):
            start, end = format_html('<a href="{}" target="_blank" rel="noopener noreferrer">', href), "</a>"
        else:  # anything else (tg-emoji, unknown tags) keeps its text only
            start, end = "", ""
        self.out.append(start)
        self.open.append((tag, end))

    def handle_endtag(self, tag):
        if all(opened != tag for opened, _end in self.open):
            return
        while self.open:
            opened, end = self.open.pop()
            self.out.append(end)
            if opened == tag:
                break

    def handle_data(self, data):
        self.out.append(escape_web(data))

    def render(self, value: str) -> str:
        self.feed(value)
        self.close()
        self.out.extend(end for _tag, end in reversed(self.open))
        return "".join(self.out)


def telegram_html_preview(value: str) -> SafeString:
    """Telegram HTML as a web page can show it (the admin's preview): safe whatever `value` holds."""
    return mark_safe(_PreviewRenderer().render(value))  # rebuilt from whitelisted tags and escaped text

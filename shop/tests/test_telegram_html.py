"""What staff may type as Telegram HTML: https://core.telegram.org/bots/api#html-style"""

import pytest
from django.core.exceptions import ValidationError

from shop.telegram_html import escape, telegram_html_preview, validate_telegram_html, visible_length, visible_text


@pytest.mark.parametrize(
    "markup",
    [
        "plain text",
        "",
        "<b>bold</b>, <strong>bold</strong>",
        "<i>italic</i>, <em>italic</em>",
        "<u>underline</u>, <ins>underline</ins>",
        "<s>strike</s>, <strike>strike</strike>, <del>strike</del>",
        '<span class="tg-spoiler">spoiler</span>',
        "<tg-spoiler>spoiler</tg-spoiler>",
        '<a href="https://example.com/?a=1&amp;b=2">link</a>',
        '<a href="tg://user?id=123456789">mention</a>',
        "<code>inline code</code>",
        "<pre>block</pre>",
        '<pre><code class="language-python">print("hi")</code></pre>',
        "<blockquote>quote</blockquote>",
        "<blockquote expandable>long quote</blockquote>",
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
        "<b>bold <i>italic bold <s>italic bold strike <tg-spoiler>spoiler</tg-spoiler></s></i></b>",
        "1 &lt; 2 &gt; 0 &amp; &quot;quoted&quot;",
        "&#123; &#x1F600;",
        "Your key: <code>TEPRO-1234</code>\nActivate it under Help → Licence.",
        "Stars ⭐ and emoji 😀",
    ],
)
def test_accepts_telegram_html(markup):
    validate_telegram_html(markup)


@pytest.mark.parametrize(
    "markup",
    [
        pytest.param("<div>block</div>", id="unknown-tag"),
        pytest.param("<p>paragraph</p>", id="unknown-tag-p"),
        pytest.param("<script>alert(1)</script>", id="script"),
        pytest.param("<br>", id="br"),
        pytest.param("line<br/>line", id="self-closing-br"),
        pytest.param("<b>bold", id="unclosed"),
        pytest.param("<b><i>text</i>", id="unclosed-outer"),
        pytest.param("<b><i>text</b></i>", id="mis-nested"),
        pytest.param("text</b>", id="stray-closing-known-tag"),
        pytest.param("text</div>", id="stray-closing-unknown-tag"),
        pytest.param("<b>text</div></b>", id="unknown-closing-inside-open-tag"),
        pytest.param("fish & chips", id="bare-ampersand"),
        pytest.param("AT&T", id="bare-ampersand-in-word"),
        pytest.param("&amp without semicolon", id="entity-without-semicolon"),
        pytest.param("1 < 2", id="bare-less-than"),
        pytest.param("a <b", id="bare-less-than-before-letter"),
        pytest.param("price&nbsp;50", id="nbsp"),
        pytest.param("&copy; 2024", id="other-named-entity"),
        pytest.param("<span>text</span>", id="span-without-class"),
        pytest.param('<span class="bold">text</span>', id="span-other-class"),
        pytest.param("<a>link</a>", id="a-without-href"),
        pytest.param('<a href="">link</a>', id="a-empty-href"),
        pytest.param('<a href="https://example.com" target="_blank">link</a>', id="attribute-not-allowed"),
        pytest.param('<b class="x">bold</b>', id="attribute-on-b"),
        pytest.param("<!-- note -->text", id="comment"),
        pytest.param("<!DOCTYPE html>text", id="declaration"),
    ],
)
def test_refuses_what_telegram_would_refuse(markup):
    with pytest.raises(ValidationError):
        validate_telegram_html(markup)


def test_error_names_the_unsupported_tag():
    with pytest.raises(ValidationError) as exc_info:
        validate_telegram_html("<div>x</div>")
    assert any("<div>" in message for message in exc_info.value.messages)


def test_error_names_the_unclosed_tag():
    with pytest.raises(ValidationError) as exc_info:
        validate_telegram_html("<b>bold <i>italic</i>")
    assert any("<b>" in message for message in exc_info.value.messages)


def test_same_error_is_reported_once():
    with pytest.raises(ValidationError) as exc_info:
        validate_telegram_html("<div>a</div><div>b</div>")
    assert len(exc_info.value.messages) == 1


# --- Measuring what the reader sees ---


@pytest.mark.parametrize(
    ("markup", "length"),
    [
        ("", 0),
        ("hello", 5),
        ("<b>hello</b>", 5),
        ('<a href="https://example.com/very/long/path">hi</a>', 2),
        ("&lt;b&gt;", 3),
        ("&amp;lt;", 4),
        ("😀", 2),
        ("<i>😀 ok</i>", 5),
        ("⭐", 1),
        ("привет", 6),
        ("a\nb", 3),
    ],
)
def test_visible_length_counts_utf16_units_of_visible_text(markup, length):
    assert visible_length(markup) == length


def test_visible_text_drops_tags_and_decodes_entities():
    assert visible_text("<b>1 &lt; 2</b> &amp; <code>x</code>") == "1 < 2 & x"


# --- Escaping what people typed ---


def test_escape_makes_names_safe_for_html_mode():
    name = "<b>Ann</b> & Co"
    escaped = escape(name)
    assert escaped == "&lt;b&gt;Ann&lt;/b&gt; &amp; Co"
    validate_telegram_html(f"Hello, <b>{escaped}</b>!")
    assert visible_text(escaped) == name


def test_escape_keeps_quotes_and_handles_missing_name():
    assert escape('O\'Neil "Nick"') == 'O\'Neil "Nick"'
    assert escape(None) == ""


# --- The preview staff see in the admin ---


@pytest.mark.parametrize(
    ("telegram", "web"),
    [
        ("<b>bold</b> <strong>too</strong>", "<b>bold</b> <b>too</b>"),
        ("<em>i</em><ins>u</ins><del>s</del><strike>s</strike>", "<i>i</i><u>u</u><s>s</s><s>s</s>"),
        ('<pre><code class="language-python">a &lt; b</code></pre>', "<pre><code>a &lt; b</code></pre>"),
        ("<blockquote expandable>quoted</blockquote>", "<blockquote>quoted</blockquote>"),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍"),
        ('<a href="javascript:alert(1)">click</a>', "click"),
        ('<a href="tg://user?id=1">me</a>', '<a href="tg://user?id=1" target="_blank" rel="noopener noreferrer">me</a>'),
        ('<a href="https://e.com/?a=1&amp;b=2" onclick="x()">l</a>', '<a href="https://e.com/?a=1&amp;b=2" target'),
        ("<script>alert(1)</script>", "alert(1)"),
        ('<img src=x onerror="alert(1)">', ""),
        ('<span style="color:red">red</span>', "red"),
        ("<b>unclosed <i>nested</b> after", "<b>unclosed <i>nested</i></b> after"),
        ("</i>stray", "stray"),
        ("&lt;b&gt; &quot;q&quot; &#128077;", "&lt;b&gt; &quot;q&quot; 👍"),
    ],
)
def test_telegram_html_preview_keeps_telegram_formatting_and_nothing_else(telegram, web):
    assert telegram_html_preview(telegram).startswith(web)

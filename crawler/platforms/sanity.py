"""Is a parser's record believable? The rules that decide when the generic reader takes over.

A platform parser reads the elements its selectors name; on a theme or template it does not know
it can return the site's name as the title, a newsletter box or one label as the body. These rules
say what is wrong with a record (None when nothing is), in words that land in the record's
`parser.fallback_reason` and in the crawl's stats.
"""

from __future__ import annotations

import re
import weakref

import lxml.html
from lxml import etree

from crawler.items import PortalRecord
from crawler.platforms.base import meta_content, page_title
from crawler.platforms.meta import ARTICLE_TYPES, json_ld_objects, json_ld_types
from crawler.text import collapse, match_key, paragraphs

# Labels a template prints where a title should be: never an article's title.
SECTION_LABELS = frozenset(
    match_key(label)
    for label in (
        "Trang chủ",
        "Trang chu",
        "Tin tức",
        "Tin tức - Sự kiện",
        "Tin tức sự kiện",
        "Chi tiết",
        "Chi tiết tin",
        "Chi tiết tin tức",
        "Chi tiết bài viết",
        "Thông báo",
        "Văn bản",
        "Trung ương",
        "Địa phương",
        "Home",
        "News",
        "Blog",
        "Article",
        "Untitled",
        "Index",
        "Default",
    )
)
# Text of sign-up boxes, cookie banners and log-in forms that a wrong container reads as a body.
_WIDGET = re.compile(
    r"\bsubscribe to (?:our|the) newsletter|\bsign up (?:for|to) (?:our|the)|\benter your e-?mail"
    r"|\byour e-?mail address|\bwe use cookies|\baccept (?:all )?cookies|\blog in to (?:continue|comment|read)"
    r"|đăng\s*ký\s*nhận\s*(?:bản\s*)?tin|nhận\s*bản\s*tin|nhập\s*(?:địa\s*chỉ\s*)?email|đăng\s*nhập\s*để",
    re.I,
)
TITLE_SEPARATOR = re.compile(r"\s+[-|–—:»›]\s+|\s*\|\s*|\s+::\s+")
_WORD = re.compile(r"\w+")
_WIDE = re.compile("[\u2e80-\u9fff\uac00-\ud7af\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]")
# A body is believable with this much running text (characters, wide scripts counted three times).
MIN_BODY_WEIGHT = 80
WIDGET_BODY = "body is a sign-up or log-in box"
MAX_WIDGET_WEIGHT = 600
MIN_SENTENCE_WORDS = 6


def text_weight(text: str) -> int:
    """Characters of `text`, counting those of scripts written without spaces (Chinese, Japanese,
    Korean, Thai, Lao, Burmese, Khmer) three times: one of them carries about a word."""
    if text.isascii():
        return len(text)
    return len(text) + 2 * len(_WIDE.findall(text))


def site_names(tree: lxml.html.HtmlElement) -> set[str]:
    """Names the page gives its site (match keys): og:site_name, application-name, and what its
    <title> adds to the page's own title. The own title is the longest heading (or og:title) the
    <title> starts or ends with; without one, the site's name is the last part, as portals write it
    ("Bài viết - Cổng TTĐT tỉnh X")."""
    root = tree.getroottree().getroot()
    cached = _SITE_NAMES.get(root)
    if cached is not None:
        return cached
    names = {meta_content(tree, "og:site_name", "application-name", "apple-mobile-web-app-title") or ""}
    title = page_title(tree)
    parts = [p.strip() for p in TITLE_SEPARATOR.split(title) if p.strip()]
    if len(parts) > 1:
        shown = [collapse(el.text_content()) for el in PAGE_HEADINGS(root)[:30]]
        shown.append(meta_content(tree, "og:title") or "")
        own = max((text for text in shown if _ends_of(title, text)), key=len, default=None)
        rest = title.replace(own, " ", 1) if own else parts[-1]
        names.update(p for p in TITLE_SEPARATOR.split(rest) if p.strip())
    keys = {match_key(n) for n in names if n.strip()}
    _SITE_NAMES[root] = keys
    return keys


def _ends_of(title: str, text: str) -> bool:
    """`text` opens or closes `title`, up to a separator ("Bài viết" in "Bài viết - Sở X")."""
    if len(text) < 3 or text == title:
        return False
    if title.startswith(text):
        return TITLE_SEPARATOR.match(title, len(text)) is not None
    if title.endswith(text):
        before = title[: len(title) - len(text)]
        return any(found.end() == len(before) for found in TITLE_SEPARATOR.finditer(before))
    return False


# Where pages print their titles: headings, and elements whose class says title (tieude = title).
PAGE_HEADINGS = etree.XPath(
    "//h1 | //h2 | //*[@class][contains(@class, 'title') or contains(@class, 'tieude')"
    " or contains(@class, 'tieu-de') or contains(@class, 'headline')]"
)
_SITE_NAMES: weakref.WeakKeyDictionary[lxml.html.HtmlElement, set[str]] = weakref.WeakKeyDictionary()


# A title this short (in words) may be one of the site's menu or breadcrumb entries (a section's name).
MAX_MENU_ENTRY_WORDS = 5
_MENU = re.compile(r"menu|nav|breadcrumb|sitemap", re.I)
# Where portals print the section a page belongs to (Liferay's `.dd_chuyenmuc`, "danh mục"); a
# breadcrumb's last, unlinked crumb is the page's own title, so breadcrumbs count by their links.
_SECTION_NAME = re.compile(r"chuyen-?muc|danh-?muc|cat(?:egory)?-?(?:title|name)", re.I)
_MENU_ENTRIES: weakref.WeakKeyDictionary[lxml.html.HtmlElement, set[str]] = weakref.WeakKeyDictionary()


def menu_entries(tree: lxml.html.HtmlElement) -> set[str]:
    """Match keys of the page's section names: its menu, navigation and breadcrumb links, and the
    blocks naming the section it is in."""
    root = tree.getroottree().getroot()
    cached = _MENU_ENTRIES.get(root)
    if cached is None:
        cached = set()
        for link in root.iter("a"):
            if any(a.tag == "nav" or _MENU.search(_class_and_id(a)) for a in link.iterancestors()):
                cached.add(match_key(collapse(link.text_content())))
        for block in root.xpath("//*[@class or @id]"):
            if _SECTION_NAME.search(_class_and_id(block)):
                cached.update(match_key(collapse(el.text_content())) for el in block.iter() if isinstance(el.tag, str))
        cached.discard("")
        _MENU_ENTRIES[root] = cached
    return cached


def _class_and_id(el: lxml.html.HtmlElement) -> str:
    return f"{el.get('class') or ''} {el.get('id') or ''}"


def title_problem(record: PortalRecord, tree: lxml.html.HtmlElement) -> str | None:
    """Why the record's title is not an article's title, or None."""
    title = (record.title or "").strip()
    if not title:
        return "no title"
    key = match_key(title)
    if key in SECTION_LABELS:
        return "title is a section label"
    if key == match_key(meta_content(tree, "og:site_name", "application-name") or ""):
        return "title is the site name"
    if len(title.split()) <= MAX_MENU_ENTRY_WORDS and key in menu_entries(tree):
        return "title is a menu entry"
    # Only a part of the <title> shorter than another can be the site's name beside the page's own
    # title: the full reading of the site's names is for those.
    parts = [p for p in TITLE_SEPARATOR.split(page_title(tree)) if p.strip()]
    shorter = len(parts) > 1 and len(title) < max(len(p.strip()) for p in parts)
    if shorter and key in {match_key(p) for p in parts} and key in site_names(tree):
        return "title is the site name"
    return None


def body_problem(record: PortalRecord) -> str | None:
    """Why the record's body is not an article's text, or None. A record whose content is a
    document's fields, attachments or media only is judged by those, not by its text."""
    parts = paragraphs(record.body or "")
    if not parts:
        if record.document is not None or record.attachments or record.media_only:
            return None
        return "no body"
    weight = text_weight(record.body)
    if weight < MIN_BODY_WEIGHT and not (record.attachments or record.document or record.media_only):
        return "body too short"
    if weight < MAX_WIDGET_WEIGHT and _WIDGET.search(record.body):
        sentences = [p for p in parts if len(_WORD.findall(p)) >= MIN_SENTENCE_WORDS or text_weight(p) >= 60]
        if len(sentences) <= 2:
            return WIDGET_BODY
    return None


def record_problem(record: PortalRecord, tree: lxml.html.HtmlElement) -> str | None:
    return title_problem(record, tree) or body_problem(record)


_POST_ELEMENTS = etree.XPath("//*[starts-with(@id, 'post-') and contains(@class, 'post')]")
_LISTING_BODY_CLASS = re.compile(r"(?:^|\s)(?:archive|category|tag|search|blog|home|paged)(?:\s|$)")
_SINGLE_BODY_CLASS = re.compile(r"(?:^|\s)(?:single|single-post|postid-\d+|node-type-article|page-node-\d+)(?:\s|$)")


# Signs only an article's own page carries; og:type and a publication time are often site-wide.
STRONG_SIGNS = frozenset({"single-post body class", "one #post-N element", "one JSON-LD Article"})


def says_single_article(tree: lxml.html.HtmlElement) -> bool:
    """The page declares itself one article: a sign only its own page carries, or two weaker ones."""
    signs = single_article_signs(tree)
    return bool(STRONG_SIGNS.intersection(signs)) or len(signs) >= 2


def single_article_signs(tree: lxml.html.HtmlElement) -> list[str]:
    """What the page says about itself that marks it as one article (not a listing)."""
    signs: list[str] = []
    body = tree.find("body")
    if body is not None and _LISTING_BODY_CLASS.search(body.get("class") or ""):
        return signs  # WordPress says it is an archive, a category, a search or the blog's front
    if (meta_content(tree, "og:type") or "").lower() == "article":
        signs.append("og:type article")
    if tree.xpath('//meta[@property="article:published_time"][1]'):
        signs.append("article:published_time")
    if body is not None and _SINGLE_BODY_CLASS.search(body.get("class") or ""):
        signs.append("single-post body class")
    if sum(1 for obj in json_ld_objects(tree) if json_ld_types(obj) & ARTICLE_TYPES) == 1:
        signs.append("one JSON-LD Article")
    # Old WordPress themes with a bare <body>: exactly one post element, id "post-N".
    posts = [el for el in _POST_ELEMENTS(tree) if el.get("id", "")[5:].isdigit()]
    if len(posts) == 1:
        signs.append("one #post-N element")
    return signs

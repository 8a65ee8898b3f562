"""The element holding a page's article text, found from where its prose is (for templates no
platform parser knows, and for platforms whose article element also holds page furniture).

Every block of running text — a paragraph with enough characters that are not link text — adds its
length to each of its ancestors ("prose mass"). Starting at <body>, we step into the child holding
nearly all of the prose until no child does: that element is the article's text, whatever its tag
or class. A teaser card, a "Next up" list, a menu or a comment thread holds little or none of the
prose, so it is never chosen. Page furniture inside the chosen element (share bars, related-article
lists, newsletter boxes, comment widgets, tag rows, link lists, hidden blocks) is pruned from a copy
before the shared block reader turns it into paragraphs, images and captions.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import lxml.html

from crawler.platforms.base import SKIP_TAGS

# Tags whose text belongs to the enclosing block (the rest start a block of their own).
INLINE_TAGS = frozenset(
    "a abbr acronym b bdi bdo big br cite code data del dfn em font i img ins kbd mark nobr q s samp small span "
    "strike strong sub sup time tt u var wbr label".split()
)
HEADING_TAGS = frozenset("h1 h2 h3 h4 h5 h6".split())
# Page furniture by element: never part of the article's running text.
FURNITURE_TAGS = frozenset("nav aside footer menu dialog".split())
# Class/id words of page furniture. Matched on word boundaries of the class and id attributes.
_FURNITURE = re.compile(
    r"(?:^|[\s_-])(?:comments?|commentlist|disqus|respond|replies|binh-?luan|binhluan|ykien|y-kien|"
    r"share|sharing|sharedaddy|social|addthis|addtoany|sociable|like-?box|"
    r"related|relatedposts|recommend\w*|more-?(?:news|stories|articles)|other-?news|"
    r"tin-?lien-?quan|tinlienquan|tin-?khac|tinkhac|tin-?cung-?chuyen-?muc|bai-?viet-?lien-?quan|"
    r"newsletter|subscribe|subscription|signup|cookie\w*|gdpr|consent|"
    r"breadcrumbs?|pagination|pager|paging|sidebar|widget\w*|"
    r"ads?|advert\w*|adsbygoogle|adslot|ad-?slot|ad-?container|quang-?cao|quangcao|banner|sponsor\w*|promo\w*|"
    r"popup|modal|overlay|toolbar|print-?btn|font-?size|text-?size|"
    r"gallery|slideshow|slider|carousel|slides|lightbox|"
    r"authors?|author-?(?:bio|box|info|card|profile|popup|container)|about-?(?:the-?)?author|"
    r"tags?(?!-?lines?\b)|tagged|tag-?list|tags-?links|keywords?|filed-?under|post-?categories|cat-?links|"
    r"next-?(?:post|story|article)s?|nextstory|prev(?:ious)?-?post|post-?navigation|"
    r"next-?up|up-?next|outbrain|taboola|zergnet|footer|foot(?!-?notes?\b)|menu|navbar|nav|navigation|"
    r"forum|cta|donate|donation|shariff|print-?only|show-?for-?print|visible-?print)(?:$|[\s_-])",
    re.I,
)
_GALLERY = re.compile(r"(?:^|[\s_-])(?:gallery|slideshow|slider|carousel|slides|lightbox)(?:$|[\s_-])", re.I)
_FILE_LINK = re.compile(r"\.(?:pdf|docx?|xlsx?|pptx?|zip|rar|7z|odt|ods|rtf)(?:$|[?#])", re.I)
_COMMENTS = re.compile(r"comment|repl(?:y|ies)|respond|disqus|forum|binh-?luan|binhluan", re.I)
# A post's own element (WordPress post_class, microformats): its "tag-…" and "category-…" classes
# name its topics, never furniture.
_POST_ELEMENT = re.compile(r"(?:^|\s)(?:hentry|h-entry|type-post|status-publish|post-\d+)(?:\s|$)")
# Furniture words closing a compound class name: "entryfooter", "postcomments", "articleshare".
_FURNITURE_SUFFIX = re.compile(r"[a-z](?:footer|comments|sidebar|related|sharing|share)(?:$|\s)", re.I)
# Class names that hide an element outright (not responsive ones like "hidden-xs").
_HIDDEN_CLASSES = frozenset({"hide", "hidden", "sr-only", "screen-reader-text", "visually-hidden", "invisible"})
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
# BEM modifiers ("Section--Ads") say how a block looks, not what it is.
_BEM_MODIFIER = re.compile(r"--[\w-]*")
# Class words that say what an element has or shows, not what it is ("has-sidebar", "no-comments").
_MODIFIER = re.compile(r"(?:^|\s)(?:has|with|no|show|hide|enable|disable|is)[_-][\w-]*", re.I)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
# A block this long (characters not in links) is running text; shorter ones are labels and meta lines.
MIN_PROSE_CHARS = 25
# Step into a child while it holds at least this share of its parent's prose.
DESCEND_SHARE = 0.8
# ... or at least this share, when the rest is a column of teasers (short blocks of text under links).
TEASER_DESCEND_SHARE = 0.55
TEASER_BLOCK_CHARS = 160
# Same-class siblings are parts of the text when together they hold this share of the biggest part's.
TWIN_SHARE = 0.5
# Teaser lists taken out before giving up on finding an article beside them, and the prose that
# must be left beside them to look for one.
MAX_TEASER_LISTS = 2
MIN_LEFT_BESIDE_TEASERS = 150
# Page furniture is pruned only when it holds less than this share of the article's prose.
PRUNE_MAX_SHARE = 0.4
# ... and class words on many blocks may not prune more than this share of it in all.
PRUNE_MAX_TOTAL = 0.5
MANY_BLOCKS = 4
LINK_LIST_SHARE = 0.6


@dataclass
class Measure:
    """Characters of text, of link text and of prose in each element's subtree."""

    text: dict[lxml.html.HtmlElement, int] = field(default_factory=dict)
    linked: dict[lxml.html.HtmlElement, int] = field(default_factory=dict)
    prose: dict[lxml.html.HtmlElement, int] = field(default_factory=dict)
    blocks: dict[lxml.html.HtmlElement, int] = field(default_factory=dict)  # prose blocks inside

    def link_share(self, el: lxml.html.HtmlElement) -> float:
        text = self.text.get(el, 0)
        return self.linked.get(el, 0) / text if text else 0.0


@dataclass
class Container:
    """Where the article's text is, and how sure we are that it is the article."""

    element: lxml.html.HtmlElement
    prose: int  # characters of prose inside
    page_prose: int  # characters of prose on the whole page (furniture excluded)
    measure: Measure
    teasers: bool = False  # the element is a list of teasers: the page is a listing

    @property
    def share(self) -> float:
        return self.prose / self.page_prose if self.page_prose else 0.0


def _attributes(el: lxml.html.HtmlElement) -> str:
    """Class and id words: BEM and state modifiers removed, camelCase split ("shareInfo" → "share Info")."""
    words = _BEM_MODIFIER.sub("", f"{el.get('class') or ''} {el.get('id') or ''}")
    return _CAMEL.sub(" ", _MODIFIER.sub(" ", words))


def in_comments(el: lxml.html.HtmlElement) -> bool:
    """Inside a comment thread (readers' comments reuse the post's classes: `.entry-content`)."""
    return any(_COMMENTS.search(_attributes(a)) for a in el.iterancestors() if a.tag not in ("html", "body"))


def is_hidden(el: lxml.html.HtmlElement) -> bool:
    """Hidden from readers: the hidden attributes, a display:none style or a hiding class."""
    if el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return True
    if _HIDDEN_STYLE.search(el.get("style") or ""):
        return True
    return not _HIDDEN_CLASSES.isdisjoint((el.get("class") or "").split())


def is_furniture(el: lxml.html.HtmlElement) -> bool:
    """Page furniture by tag, class/id words, or because it is hidden. Inline elements inside text
    (a tag link, a glossary term) are never furniture by their class alone."""
    if el.tag in FURNITURE_TAGS or is_hidden(el):
        return True
    if el.tag in INLINE_TAGS or _POST_ELEMENT.search(el.get("class") or ""):
        return False
    words = _attributes(el)
    return bool(_FURNITURE.search(words) or _FURNITURE_SUFFIX.search(words))


def _owned_text(root: lxml.html.HtmlElement) -> tuple[dict, dict]:
    """Characters of text (and of link text) each block element owns: its own text and that of its
    inline descendants. Scripts, styles and the like own nothing (their tails do count)."""
    owned: dict[lxml.html.HtmlElement, int] = {}
    linked: dict[lxml.html.HtmlElement, int] = {}
    stack: list[tuple[lxml.html.HtmlElement, lxml.html.HtmlElement, bool]] = [(root, root, False)]
    while stack:
        el, owner, in_link = stack.pop()
        tag = el.tag if isinstance(el.tag, str) else ""
        block = el if tag not in INLINE_TAGS else owner
        link = in_link or tag == "a"
        count = len(el.text.strip()) if el.text else 0
        for child in el:
            if child.tail:
                count_tail = len(child.tail.strip())
                owned[block] = owned.get(block, 0) + count_tail
                if link:
                    linked[block] = linked.get(block, 0) + count_tail
            child_tag = child.tag if isinstance(child.tag, str) else ""
            if not child_tag or child_tag in SKIP_TAGS:
                continue
            stack.append((child, block, link))
        if count:
            owned[block] = owned.get(block, 0) + count
            if link:
                linked[block] = linked.get(block, 0) + count
    return owned, linked


def measure(root: lxml.html.HtmlElement) -> Measure:
    """Text, link text and prose characters of every element under `root`."""
    owned, linked = _owned_text(root)
    result = Measure()
    text, links, prose = result.text, result.linked, result.prose
    for block, chars in owned.items():
        link_chars = linked.get(block, 0)
        prose_chars = 0
        if block.tag not in HEADING_TAGS and chars - link_chars >= MIN_PROSE_CHARS and link_chars < chars / 2:
            prose_chars = chars - link_chars
        node: lxml.html.HtmlElement | None = block
        while node is not None:
            text[node] = text.get(node, 0) + chars
            if link_chars:
                links[node] = links.get(node, 0) + link_chars
            if prose_chars:
                prose[node] = prose.get(node, 0) + prose_chars
                result.blocks[node] = result.blocks.get(node, 0) + 1
            if node is root:
                break
            node = node.getparent()
    return result


def find_container(tree: lxml.html.HtmlElement, url: str = "") -> Container | None:
    """The element holding (nearly) all of the page's prose, or None when the page has none.

    When that element is a list of teasers ("Next story" cards under a short post), its prose is
    taken out and the search runs again: the post, if the page has one, holds what is left.
    """
    body = tree.find("body") if tree.tag == "html" else tree
    if body is None:
        body = tree
    sizes = measure(body)
    _discount_furniture(body, sizes)
    if sizes.prose.get(body, 0) <= 0:
        return None
    first: Container | None = None
    for _ in range(MAX_TEASER_LISTS + 1):
        node = _descend(body, sizes)
        # The page's prose, less the teaser lists already set aside.
        found = Container(node, sizes.prose.get(node, 0), sizes.prose.get(body, 0), sizes)
        found.teasers = _teaser_list(node, sizes, url)
        first = first or found
        if not found.teasers:
            return found if found.prose else first
        _discount(node, body, sizes)
        if sizes.prose.get(body, 0) < MIN_LEFT_BESIDE_TEASERS:
            break
    return first


def _descend(body: lxml.html.HtmlElement, sizes: Measure) -> lxml.html.HtmlElement:
    node = body
    while True:
        children = [c for c in node if isinstance(c.tag, str) and sizes.prose.get(c, 0) > 0]
        if not children:
            break
        best = max(children, key=lambda c: sizes.prose.get(c, 0))
        share = sizes.prose[best] / sizes.prose[node]
        if _has_twin(best, children, sizes) or share < TEASER_DESCEND_SHARE:
            break
        if share < DESCEND_SHARE and not _rest_is_teasers(node, best, children, sizes):
            break
        node = best
    # A single paragraph is the text, not its container: read the block around it.
    while node.tag in ("p", "span", "font", "li", "td", "blockquote") and node is not body:
        parent = node.getparent()
        if parent is None:
            break
        node = parent
    return node


def _teaser_list(node: lxml.html.HtmlElement, sizes: Measure, url: str = "") -> bool:
    """A listing's items: many children, most of them opening with a link to another page of the
    site (the teaser's title)."""
    items = [c for c in node if isinstance(c.tag, str) and sizes.prose.get(c, 0) > 0]
    host = urlsplit(url).hostname
    if len(items) < 4:
        # A short listing (a section's first two or three notices): cards alike, each under a
        # heading that links to another page of the site. A paragraph opening with a link is not one.
        return len(items) >= 2 and _alike_cards(items) and all(_opens_with_link(item, host) for item in items)
    return sum(1 for item in items if _opens_with_link(item, host)) >= 0.6 * len(items)


def _alike_cards(items: list[lxml.html.HtmlElement]) -> bool:
    """Blocks of one kind (same tag and class, not paragraphs), each with a linked heading."""
    first = items[0]
    return (
        first.tag not in ("p", "blockquote")
        and all(item.tag == first.tag and item.get("class") == first.get("class") for item in items)
        and all(item.xpath(".//*[self::h2 or self::h3 or self::h4 or self::h5]//a[@href]") for item in items)
    )


def _opens_with_link(item: lxml.html.HtmlElement, host: str | None = None) -> bool:
    """The item opens with a link to another page of the site (a teaser's title), not to a file
    nor to another site: a notice listing decisions as "<a>Quyết định số …</a> ngày …" or a press
    review quoting other papers is an article."""
    for el in item.iter():
        if not isinstance(el.tag, str) or el.tag in SKIP_TAGS or el.tag == "img":
            continue
        if el.tag == "a" and len(" ".join(el.text_content().split())) >= 15:
            href = el.get("href") or ""
            other_site = bool(host) and (urlsplit(href).hostname or host) != host
            return not (_FILE_LINK.search(href) or other_site)
        if (el.text or "").strip():
            return False
    return False


def _discount(el: lxml.html.HtmlElement, root: lxml.html.HtmlElement, sizes: Measure) -> None:
    """Take `el`'s prose out of its own count and its ancestors' (up to `root`)."""
    prose = sizes.prose.get(el, 0)
    node: lxml.html.HtmlElement | None = el
    while node is not None:
        sizes.prose[node] = sizes.prose.get(node, 0) - prose
        if node is root:
            break
        node = node.getparent()


def _rest_is_teasers(node: lxml.html.HtmlElement, best: lxml.html.HtmlElement, children: list, sizes: Measure) -> bool:
    """The prose beside the biggest child is a column of teasers (several short blocks under
    links), not part of the article such as its lead."""
    blocks = sizes.blocks.get(node, 0) - sizes.blocks.get(best, 0)
    prose = sizes.prose.get(node, 0) - sizes.prose.get(best, 0)
    text = sum(sizes.text.get(c, 0) for c in children if c is not best)
    linked = sum(sizes.linked.get(c, 0) for c in children if c is not best)
    return blocks >= 3 and prose / blocks < TEASER_BLOCK_CHARS and text > 0 and linked / text >= 0.15


def _has_twin(best: lxml.html.HtmlElement, children: list[lxml.html.HtmlElement], sizes: Measure) -> bool:
    """Other children of the same tag and class hold a real share of the prose too: the text is
    split into parts (sections of one post), so their parent is the article, not the biggest part.
    A small same-class box beside it ("Xem nhiều") is no part."""
    if not (best.get("class") or "").strip():
        return False
    signature = (best.tag, best.get("class"))
    twins = sum(sizes.prose.get(c, 0) for c in children if c is not best and (c.tag, c.get("class")) == signature)
    return twins >= TWIN_SHARE * sizes.prose.get(best, 0)


def _discount_furniture(root: lxml.html.HtmlElement, sizes: Measure) -> None:
    """Take the prose of page furniture (comment threads, related lists, sidebars, footers) out of
    its ancestors' counts, so that it neither attracts nor holds back the search. An <aside>, <nav>
    or <footer> is furniture unless it holds nearly all of the prose; class words name furniture
    unless they mark the text itself: many blocks that together hold most of the prose."""
    total = sizes.prose.get(root, 0)
    by_tag = _outermost([el for el, prose in sizes.prose.items() if el.tag in FURNITURE_TAGS and prose < 0.9 * total])
    marked = [el for el in sizes.prose if el is not root and is_furniture(el)]
    # A big element is furniture only when it is a thread of comments (a list of many comments).
    held = Counter(a for el in marked for a in el.iterancestors())
    by_class = _outermost(
        [
            el
            for el in marked
            if sizes.prose[el] < 0.5 * total or (held[el] >= MANY_BLOCKS and _COMMENTS.search(_attributes(el)))
        ]
    )
    by_class = _without_marked_text(by_class, sizes, total)
    for el in _outermost(by_tag + by_class):
        _discount(el, root, sizes)


def _without_marked_text(
    elements: list[lxml.html.HtmlElement], sizes: Measure, total: int
) -> list[lxml.html.HtmlElement]:
    """Leave out runs of sibling blocks of one class that hold most of the prose: class words on
    the text itself ("p.paywall" on every paragraph), not furniture."""
    groups: dict[tuple[object, str | None], list[lxml.html.HtmlElement]] = {}
    for el in elements:
        groups.setdefault((el.getparent(), el.get("class")), []).append(el)
    text_runs = {
        el
        for group in groups.values()
        if len(group) >= MANY_BLOCKS and sum(sizes.prose.get(el, 0) for el in group) > PRUNE_MAX_TOTAL * total
        for el in group
    }
    return [el for el in elements if el not in text_runs]


def _outermost(elements: list[lxml.html.HtmlElement]) -> list[lxml.html.HtmlElement]:
    """The elements not inside another one of them."""
    chosen = set(elements)
    return [el for el in elements if not any(a in chosen for a in el.iterancestors())]


def pruned_copy(found: Container) -> lxml.html.HtmlElement:
    """A copy of the container without its page furniture (the page itself is left untouched).

    Furniture named by its class is pruned only while what is pruned holds a minority of the
    prose: when class words would take most of the text ("TestReport__Section--Ads" on every
    section), they describe the template, not furniture."""
    container, sizes = found.element, found.measure
    by_tag = _furniture_in(found, by_class=False)
    by_class = _furniture_in(found, by_class=True) - by_tag
    doomed = by_tag | set(_without_marked_text(list(by_class), sizes, found.prose))
    clone = copy.deepcopy(container)
    pairs = zip(container.iter(), clone.iter(), strict=True)
    targets = [(original, cloned) for original, cloned in pairs if original in doomed]
    for original, cloned in targets:
        if _GALLERY.search(_attributes(original)):
            _keep_only_images(cloned)  # a gallery's pictures belong to the article, its captions rerun
        else:
            cloned.drop_tree()
    return clone


def _keep_only_images(el: lxml.html.HtmlElement) -> None:
    images = [copy.deepcopy(img) for img in el.iter("img")]
    tail = el.tail
    el.clear()
    el.tail = tail
    el.extend(images)


def _furniture_in(found: Container, by_class: bool) -> set[lxml.html.HtmlElement]:
    container, sizes = found.element, found.measure
    limit = PRUNE_MAX_SHARE * max(found.prose, 1)
    doomed: set[lxml.html.HtmlElement] = set()
    for el in container.iterdescendants():
        if not isinstance(el.tag, str) or any(a in doomed for a in _ancestors_until(el, container)):
            continue
        prose = sizes.prose.get(el, 0)
        if prose > limit:
            continue
        if (
            el.tag in ("form", "button", "select", "input", "textarea", *FURNITURE_TAGS)
            or is_hidden(el)
            or (by_class and is_furniture(el))
            or (el.tag == "header" and prose < 0.25 * found.prose)
            or _is_link_list(el, sizes)
        ):
            doomed.add(el)
    return doomed


def _ancestors_until(el: lxml.html.HtmlElement, stop: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    found = []
    for ancestor in el.iterancestors():
        if ancestor is stop:
            break
        found.append(ancestor)
    return found


def _is_link_list(el: lxml.html.HtmlElement, sizes: Measure) -> bool:
    """A block that is mostly link text: a list of headlines, "Xem thêm: …", a tag row."""
    if el.tag in INLINE_TAGS:
        return False
    text = sizes.text.get(el, 0)
    return text >= 10 and sizes.linked.get(el, 0) >= LINK_LIST_SHARE * text

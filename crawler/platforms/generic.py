"""Fallback for sites on no known platform: trafilatura finds the main text, then the shared
block reader takes captions and the byline out of it, as for every platform.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html
import trafilatura
from lxml import etree

from crawler.dates import is_dateline
from crawler.items import Attachment, Document, Image
from crawler.platforms.base import (
    FRONT_PAGE_PATH,
    MEDIA_TYPES,
    Body,
    attachments_from_links,
    first,
    meta_content,
    page_title,
    read_body,
    text_of,
)
from crawler.platforms.container import Container, find_container, is_furniture, pruned_copy
from crawler.platforms.meta import (
    cms_authors,
    document_from_page,
    find_date_text,
    find_view_count,
    is_metadata_row,
    updated_at_of,
)
from crawler.platforms.page import ListingEntry, ParsedPage, listing_result, new_record, page_links
from crawler.platforms.sanity import (
    PAGE_HEADINGS,
    SECTION_LABELS,
    TITLE_SEPARATOR,
    WIDGET_BODY,
    body_problem,
    single_article_signs,
    site_names,
    text_weight,
)
from crawler.text import collapse, join_paragraphs, match_key, normalize_text

NAME = "generic"
VERSION = "1.0"

# trafilatura's XML-like output back to the HTML tags the block reader understands.
_TRAFILATURA_TAGS = {
    "graphic": "img",
    "head": "h3",
    "list": "ul",
    "item": "li",
    "lb": "br",
    "ref": "a",
    "row": "tr",
    "cell": "td",
    "quote": "blockquote",
    "code": "pre",
}
_PAGER_TEXT = re.compile(r"^(?:\d{1,4}|sau|tiếp|trang sau|trang tiếp|next|›|»|>|>>|cuối|last)$", re.I)
_PAGER_URL = re.compile(r"[?&](?:page|trang|p|pageindex|pg|cur)=\d+|/(?:page|trang)[-/]\d+", re.I)
_ARTICLE_URL = re.compile(r"(?:\d{3,}|[a-z0-9]+(?:-[a-z0-9]+){3,})(?:\.[a-z]{2,5})?/?$", re.I)
# A site's front page is never one article, whatever its teasers look like.
# The page's frame: its masthead above the content and its footer below.
_MASTHEAD = re.compile(
    r"logo|banner|masthead|brand|site-?title|site-?name|top-?bar|navbar|copyright"
    r"|(?:^|\s)(?:header|footer|bottom)(?:\s|$)",
    re.I,
)
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+){2,}$")
_HEADLINE = etree.XPath("//*[@itemprop='headline' or @itemprop='name headline']")
MIN_ARTICLE_CHARS = 200
MIN_TYPED_ARTICLE_CHARS = 80  # for a page that says it is one article (og:type, JSON-LD, articleBody)
MIN_DATED_ARTICLE_CHARS = 120  # for a page showing a date by its title: a short notice
MIN_UNDATED_TEXT_CHARS = 500  # one or two paragraphs, no date shown: still an article when this long
MAX_LINK_DENSITY = 0.5
# A lead set apart from the text: its classes, and the least it says.
_LEAD_ELEMENT = etree.XPath(
    "self::*[@itemprop='description' or @itemprop='alternativeHeadline'][not(self::meta)]"
    " | self::*[@class or @id][re:test(concat(@class, ' ', @id),"
    " '(^|[ _-])(sapo|intro|lead|standfirst|summary|description|teaser|vorspann|chapeau|deck|"
    "subtitle|sub-title|excerpt|abstract|tomtat|tom-tat|mo-ta)([ _-]|$)', 'i')]",
    namespaces={"re": "http://exslt.org/regular-expressions"},
)
MIN_LEAD_CHARS = 40
# Media-only articles: how far above the title to look for the media, and what is no article's media.
MEDIA_LEVELS = 3
MEDIA_TEXT_LINES = 2
_DECORATION = re.compile(r"logo|icon|banner|avatar|spacer|blank|pixel|button|sprite", re.I)
_VIDEO = re.compile(r"youtube\.com|youtu\.be|vimeo\.com|dailymotion|/video|\.(?:mp4|webm|m3u8|mov)(?:$|\?)", re.I)
# Our own reader takes the page when the element it finds holds this much prose, and this share of it.
MIN_CONTAINER_PROSE = 150
MIN_CONTAINER_SHARE = 0.6


def detect(tree: lxml.html.HtmlElement | None, url: str, quick: bool = False) -> list[str]:
    return ["no platform signature matched: generic extraction"]


def article_key(url: str) -> str | None:
    return None


@dataclass
class MainText:
    """The article's text as the block reader saw it, and where it came from."""

    body: Body
    method: str  # "container" (our reader) or "trafilatura"
    container: lxml.html.HtmlElement | None = None  # the page element holding the text
    metadata: object | None = None  # trafilatura's Document, when it ran


def main_text(tree: lxml.html.HtmlElement, url: str) -> MainText | None:
    """The page's article text: from the element holding its prose when one clearly does (fast, and
    it keeps headings, lists, captions and tables in place), else from trafilatura."""
    found = find_container(tree, url)
    if found is not None and found.teasers:
        return None  # a listing: its teasers are no article, whoever reads them
    text = container_text(tree, url, strict=True, found=found)
    if text is not None:
        return text
    extracted = _trafilatura(tree, url)
    main = getattr(extracted, "body", None)
    body = read_body(_as_html(main), url) if main is not None else None
    if body is None or not body.paragraphs:
        # A page whose prose is only in <body> itself (a plain-text RFC in <pre>): our reader's
        # text is the text when trafilatura finds none.
        return container_text(tree, url, strict=True, found=found, whole_page=True) if found else None
    body.images = _images_from_page(tree, url, body.paragraphs, body.images)
    return MainText(body, "trafilatura", None, extracted)


def container_text(
    root: lxml.html.HtmlElement,
    url: str,
    strict: bool,
    found: Container | None = None,
    whole_page: bool = False,
) -> MainText | None:
    """The text of the element under `root` holding the prose, without its page furniture. With
    `strict`, only when that element clearly holds the article (`root` is the whole page; the
    <body> itself only with `whole_page`); without, `root` is an element a platform already knows
    as the article and only needs narrowing."""
    found = found if found is not None else find_container(root, url)
    if found is None or (strict and not _holds_the_article(found, whole_page)):
        return None
    body = read_body(pruned_copy(found), url)
    if not body.paragraphs:
        return None
    # Files listed under the text ("Tệp đính kèm") count even where the list was pruned.
    links = [(a.get("href"), text_of(a)) for a in found.element.iter("a") if a.get("href")]
    known = {a.url for a in body.attachments}
    body.attachments += [a for a in attachments_from_links(links, url) if a.url not in known]
    return MainText(body, "container", found.element)


def _holds_the_article(found: Container, whole_page: bool = False) -> bool:
    """The container is the article when it holds most of the page's prose, enough of it, little
    of it in links, and is not a list of teasers nor (unless allowed) the whole page."""
    return (
        (whole_page or found.element.tag != "body")
        and found.prose >= MIN_CONTAINER_PROSE
        and found.share >= MIN_CONTAINER_SHARE
        and found.measure.link_share(found.element) <= MAX_LINK_DENSITY
        and not found.teasers
    )


def _trafilatura(tree: lxml.html.HtmlElement, url: str) -> object | None:
    """trafilatura's extraction of the page; None when it finds nothing or fails (it is the last
    reader in the chain: its failure must cost the page nothing more than its text)."""
    try:
        return trafilatura.bare_extraction(
            tree, url=url, include_images=True, include_tables=True, include_links=True, with_metadata=True
        )
    except Exception:  # any failure of the library is "no text found"
        return None


def parse_tree(tree: lxml.html.HtmlElement, url: str) -> ParsedPage:
    text = main_text(tree, url)
    if text is None:
        return media_article(tree, url) or listing(tree, url)
    body = text.body
    title = _title(tree, text.metadata)
    title_el = _title_element(tree, title)
    date_raw, date_attr = find_date_text(tree, title_el)
    # A lead set apart above the text is the summary, as platforms read a sapo.
    lead = _standfirst(title_el, text.container) if text.container is not None else None
    paragraphs = body.paragraphs
    # A document's fields are read where its text is (a sidebar's "Số hiệu: …" is another document's).
    scope = _document_scope(text.container) if text.container is not None else tree
    document = document_from_page(scope, scope.text_content())
    if document is not None:
        # The metadata table is the document's fields, not its text; its files may sit beside the text.
        paragraphs = [p for p in paragraphs if not is_metadata_row(p)]
        body.attachments = _document_attachments(tree, url, paragraphs, body.attachments)
    density = _link_density(tree, paragraphs)
    if title and (paragraphs or document) and _is_article(tree, url, paragraphs, date_raw, document, density):
        record = new_record(
            tree,
            url,
            NAME,
            VERSION,
            title=title,
            summary=lead or meta_content(tree, "og:description", "description"),
            body=join_paragraphs(paragraphs),
            published_raw=date_raw or date_attr,
            authors=body.authors or cms_authors(tree),
            category=meta_content(tree, "article:section"),
            tags=[normalize_text(t) for t in tree.xpath('//meta[@property="article:tag"]/@content')],
            images=body.images,
            attachments=body.attachments,
            view_count=find_view_count(tree),
            updated_at=updated_at_of(tree),
            document=document,
            page_type="document" if document else "article",
            embeds=body.embeds,
        )
        if body_problem(record) != WIDGET_BODY:
            return ParsedPage(kind="article", record=record)
    return media_article(tree, url) or listing(tree, url)


def _document_scope(container: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """The element around the text that holds its document fields: the text's block, or its parent
    where the fields table stands beside the text."""
    parent = container.getparent()
    return parent if parent is not None and parent.tag != "body" else container


def _standfirst(title_el: lxml.html.HtmlElement | None, container: lxml.html.HtmlElement) -> str | None:
    """The article's lead when the template sets it apart, between the title and the text (a
    `.sapo`, `.intro`, `.standfirst`, `itemprop=description` block)."""
    if title_el is None:
        return None
    for el in _between(title_el, container):
        if not isinstance(el.tag, str) or not _LEAD_ELEMENT(el) or _in_masthead(el):
            continue
        text = text_of(el)
        links = sum(len(collapse(a.text_content())) for a in el.iter("a"))
        if len(text) >= MIN_LEAD_CHARS and links < len(text) / 3 and not el.xpath(".//h1|.//h2"):
            return text
    return None


def _between(
    start: lxml.html.HtmlElement, stop: lxml.html.HtmlElement, limit: int = 200
) -> Iterator[lxml.html.HtmlElement]:
    """The elements after `start` in reading order, up to `stop` (a few hundred at most: the lead
    sits right under the title); the blocks that hold `stop` are entered, not yielded."""
    holders = {stop, *stop.iterancestors()}  # the set keeps the element objects, so `in` is identity
    seen = 0
    for anchor in (start, *start.iterancestors()):
        for sibling in anchor.itersiblings():
            for el in sibling.iter():
                if el is stop:
                    return
                if el in holders:
                    continue
                yield el
                seen += 1
                if seen >= limit:
                    return


def media_article(tree: lxml.html.HtmlElement, url: str) -> ParsedPage | None:
    """An article whose content is an image, an embedded PDF or a video with at most a line or two
    of text: a record flagged `media_only` (the lines are its body), when the page shows a title and
    a date (or says it is an article) and the block around its title holds the media."""
    title = _title(tree, None)
    title_el = _title_element(tree, title)
    if not title or title_el is None or FRONT_PAGE_PATH.match(urlsplit(url).path or "/"):
        return None
    date_raw, date_attr = find_date_text(tree, title_el)
    if not (date_raw or date_attr or single_article_signs(tree)):
        return None
    body = _media_around(title_el, url, {match_key(title), match_key(date_raw or "")})
    if body is None:
        return None
    record = new_record(
        tree,
        url,
        NAME,
        VERSION,
        title=title,
        summary=meta_content(tree, "og:description", "description"),
        body=join_paragraphs(body.paragraphs),
        published_raw=date_raw or date_attr,
        authors=body.authors or cms_authors(tree),
        images=body.images,
        attachments=body.attachments,
        embeds=body.embeds,
        media_only=_media_kind(body),
        updated_at=updated_at_of(tree),
    )
    return ParsedPage(kind="article", record=record)


def _media_around(title_el: lxml.html.HtmlElement, url: str, shown: set[str]) -> Body | None:
    """The media of the nearest block around the title that holds any (a few levels up at most, the
    page's <body> last), without the page furniture in it, and its few lines of text other than
    the title and the date already `shown`."""
    node = title_el.getparent()
    for _ in range(MEDIA_LEVELS):
        if node is None:
            return None
        found = find_container(node)
        clone = pruned_copy(found) if found is not None else node
        body = read_body(clone, url)
        body.images = [i for i in body.images if not _DECORATION.search(i.url)]
        body.paragraphs = [p for p in body.paragraphs if match_key(p) not in shown and not is_dateline(p)]
        if body.embeds or body.images or any(a.media_type == MEDIA_TYPES["pdf"] for a in body.attachments):
            return body if len(body.paragraphs) <= MEDIA_TEXT_LINES else None
        if node.tag == "body":
            return None
        node = node.getparent()
    return None


def _media_kind(body: Body) -> str:
    if any(_VIDEO.search(e) for e in body.embeds):
        return "video"
    if any(a.media_type == MEDIA_TYPES["pdf"] for a in body.attachments):
        return "pdf"
    return "embed" if body.embeds else "image"


def _as_html(element: etree._Element) -> lxml.html.HtmlElement:
    copy = lxml.html.fromstring(etree.tostring(element, encoding="unicode"))
    for el in copy.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag in _TRAFILATURA_TAGS:
            el.tag = _TRAFILATURA_TAGS[el.tag]
            if el.tag == "a" and el.get("target"):
                el.set("href", el.get("target"))
        elif el.tag == "hi" and "#i" in (el.get("rend") or ""):
            el.tag = "em"
        elif el.tag == "hi":
            el.tag = "span"
    return copy


def _images_from_page(tree: lxml.html.HtmlElement, url: str, paragraphs: list[str], found: list[Image]) -> list[Image]:
    """Images of the article with their captions, read from the page's own markup.

    trafilatura drops some images (an <img> beside a caption in one <div>) and most caption markup
    (figcaption, caption cells), so the element holding the article's first and last paragraphs is
    read again with the shared block reader; images only trafilatura saw are kept after them.
    """
    # Anchor on long paragraphs: short first/last ones may be a repeated title or a byline.
    anchors = [p for p in paragraphs if len(p) >= 80]
    container = _content_container(tree, anchors[0], anchors[-1]) if anchors else None
    if container is None:
        container = tree.body if tree.find("body") is not None else tree
        own = {i.url: i for i in read_body(container, url, trailing_byline=False).images}
        for image in found:
            if image.caption is None and image.url in own:
                image.caption = own[image.url].caption
        return found
    images = read_body(container, url, trailing_byline=False).images
    seen = {image.url for image in images}
    return images + [image for image in found if image.url not in seen]


def _document_attachments(
    tree: lxml.html.HtmlElement, url: str, paragraphs: list[str], found: list[Attachment]
) -> list[Attachment]:
    """Files of a document page: links in the block around the document's text (its "Tệp đính kèm")."""
    anchors = [p for p in paragraphs if len(p) >= 80]
    container = _content_container(tree, anchors[0], anchors[-1]) if anchors else None
    if container is None:
        return found
    around = container.getparent() if container.getparent() is not None else container
    links = [(href, "") for href in around.xpath(".//a/@href")]
    known = {a.url for a in found}
    return found + [a for a in attachments_from_links(links, url) if a.url not in known]


def _content_container(tree: lxml.html.HtmlElement, first_para: str, last_para: str) -> lxml.html.HtmlElement | None:
    """The smallest element containing both the first and the last paragraph of the extracted text."""
    start = _element_with_text(tree, first_para)
    end = _element_with_text(tree, last_para)
    if start is None or end is None:
        return None
    ancestors = {start, *start.iterancestors()}  # the set keeps the element objects, so `in` is identity
    for candidate in (end, *end.iterancestors()):
        if candidate in ancestors:
            return candidate
    return None


def _element_with_text(tree: lxml.html.HtmlElement, paragraph: str) -> lxml.html.HtmlElement | None:
    snippet = paragraph[:40]
    if not snippet or ("'" in snippet and '"' in snippet):
        return None
    quote = '"' if "'" in snippet else "'"
    for node in tree.xpath(f"//body//text()[contains(normalize-space(.), {quote}{snippet}{quote})]"):
        parent = node.getparent()
        if parent is not None and parent.tag not in ("script", "style", "title"):
            return parent
    return None


def _title_element(tree: lxml.html.HtmlElement, title: str) -> lxml.html.HtmlElement | None:
    """The element showing the title (to look for the date after it)."""
    for el in PAGE_HEADINGS(tree):
        if text_of(el) == title:
            return el
    return first(tree, "h1")


def _title(tree: lxml.html.HtmlElement, document: object) -> str:
    """The article title: the element marked as headline, else a heading the page's <title> or
    og:title repeats, else og:title, else the first real h1, else the page's <title> without the
    site's name, else the first title-like heading.

    Portals put the site's name in an <h1> logo, a footer heading and the <title> suffix: a heading
    naming the site, or standing in the page's frame, is never the title, and neither is a section
    label or a slug-like og:title.
    """
    framed = [el for el in PAGE_HEADINGS(tree) if _in_masthead(el)]
    names = site_names(tree) | {match_key(text_of(el)) for el in framed}
    og = _own_title(meta_content(tree, "og:title"), names)
    shown_title = page_title(tree)
    marked = [text_of(el) for el in _HEADLINE(tree)]
    headings = [(el, text) for el in PAGE_HEADINGS(tree) if _title_like(el, text := text_of(el), names)]
    # A heading is the title when the <title> or og:title gives it whole (one of their parts): a
    # masthead's "CDU-Fraktion" is only a piece of "CDU-Fraktion im Erfurter Stadtrat - …".
    given = {match_key(part) for line in (shown_title, og or "") for part in (line, *TITLE_SEPARATOR.split(line))}
    for text in [*marked, *(text for _, text in headings)]:
        if _title_like(None, text, names) and match_key(text) in given:
            return text
    if og:
        return og
    for el, text in headings:
        if el.tag == "h1":
            return text
    found = normalize_text(getattr(document, "title", None) or shown_title or "")
    own = _own_title(found, names, slug_ok=True)
    if own and match_key(own) not in SECTION_LABELS:
        return own
    return headings[0][1] if headings else own or found


def _title_like(el: lxml.html.HtmlElement | None, text: str, names: set[str]) -> bool:
    """Could be the article's title: long enough, not the site's name nor a section label, and not
    shown in the masthead or the page's furniture (a footer's "Cổng thông tin điện tử tỉnh …")."""
    key = match_key(text)
    if len(text) < 10 or key in names or key in SECTION_LABELS:
        return False
    return el is None or not (_in_masthead(el) or any(is_furniture(a) for a in el.iterancestors()))


def _own_title(title: str | None, names: set[str], slug_ok: bool = False) -> str | None:
    """A page title without the parts naming the site ("Bài viết | Sở X" → "Bài viết"); None for a
    title that only names the site, or (unless `slug_ok`: the page's last word on its title) a
    slug such as og:title "adac-kindersitztest-herbst-2018"."""
    if not title or (_SLUG.match(title) and not slug_ok):
        return None
    parts = [p.strip() for p in TITLE_SEPARATOR.split(title) if p.strip()]
    kept = [p for p in parts if match_key(p) not in names]
    if not kept:
        return None
    return title.strip() if len(kept) == len(parts) else " - ".join(kept)


def _in_masthead(el: lxml.html.HtmlElement) -> bool:
    """In the site's header or logo block (a page-level <header>, not an article's)."""
    for ancestor in el.iterancestors():
        if _MASTHEAD.search(f"{ancestor.get('class', '')} {ancestor.get('id', '')}"):
            return True
        if ancestor.tag == "header" and not any(a.tag in ("article", "main") for a in ancestor.iterancestors()):
            return True
    return _MASTHEAD.search(f"{el.get('class', '')} {el.get('id', '')}") is not None


def _link_density(tree: lxml.html.HtmlElement, paragraphs: list[str]) -> float:
    """Share of the extracted text that is the text of the page's links: a list of headlines is
    mostly links (trafilatura's fallback on such pages returns them as plain text)."""
    text = " ".join(paragraphs)
    if not text:
        return 0.0
    anchors = {collapse(a.text_content()) for a in tree.iter("a")}
    linked = sum(len(anchor) for anchor in anchors if len(anchor) >= 15 and anchor in text)
    return linked / len(text)


def _is_article(
    tree: lxml.html.HtmlElement,
    url: str,
    paragraphs: list[str],
    date_raw: str | None,
    document: Document | None = None,
    link_density: float = 0.0,
) -> bool:
    if document is not None:
        return True
    if FRONT_PAGE_PATH.match(urlsplit(url).path or "/") and not urlsplit(url).query:
        return False
    weight = sum(text_weight(p) for p in paragraphs)
    typed = bool(single_article_signs(tree)) or bool(tree.xpath('//*[@itemprop="articleBody"][1]'))
    least = MIN_TYPED_ARTICLE_CHARS if typed else MIN_DATED_ARTICLE_CHARS if date_raw else MIN_ARTICLE_CHARS
    if weight < least or link_density > MAX_LINK_DENSITY:
        return False
    return typed or date_raw is not None or len(paragraphs) >= 3 or weight >= MIN_UNDATED_TEXT_CHARS


def listing(tree: lxml.html.HtmlElement, url: str) -> ParsedPage:
    """Links of a page that is not an article: likely articles, pagination, everything else."""
    links = page_links(tree, url)
    entries: dict[str, ListingEntry] = {}
    pagination: list[str] = []
    for anchor in tree.iter("a"):
        href = urljoin(url, (anchor.get("href") or "").strip()).split("#", 1)[0]
        if href not in links:
            continue
        label = collapse(anchor.text_content())
        path = urlsplit(href).path
        if _PAGER_TEXT.match(label) or (_PAGER_URL.search(href) and len(label) < 12):
            if href not in pagination:
                pagination.append(href)
        elif len(label) >= 20 and _ARTICLE_URL.search(path):
            entries.setdefault(href, ListingEntry(url=href, title=normalize_text(label)))
    return listing_result(list(entries.values()), pagination, links)

"""Page noise that portals mix into article text: one shared list plus per-platform additions.

Per-portal additions live in the registry (`boilerplate = [...]` on a portal entry).
A phrase matches a whole paragraph (compared by `text.match_key`), never a substring of real text.
"""

from __future__ import annotations

import re

from crawler.text import match_key

SHARED_PHRASES: tuple[str, ...] = (
    # placeholders and teasers
    "Loading...",
    "Đang tải...",
    "Đi đến nguồn bài viết",
    "Xem thêm",
    "Xem tiếp...",
    # actions
    "Chia sẻ",
    "In bài viết",
    "In bài viết này",
    "In trang",
    "In ra",
    "Gửi email",
    "Gửi mail",
    "Gửi bài viết",
    "Gửi bài viết cho bạn bè",
    "Chia sẻ bài viết",
    "Chia sẻ bài viết lên",
    "Chia sẻ bài viết này",
    "Chia sẻ qua",
    "In bài",
    "Bản in",
    "Quay về",
    "Quay về trang trước",
    "Quay lại trang trước",
    "Về đầu trang",
    "Lưu bài",
    "Phóng to",
    "Thu nhỏ",
    "Lên top",
    "Trở về",
    "Quay lại",
    "Đóng cửa sổ này",
    "Lưu bài viết này",
    "Báo cáo nội dung lỗi",
    "Giới thiệu bài viết cho bạn bè",
    "Click để xếp hạng bài viết",
    # attachment labels (the files themselves go to `attachments`)
    "Tệp đính kèm",
    "File đính kèm",
    "Tài liệu đính kèm",
    "Văn bản đính kèm",
    "Nhấn vào để tải file.",
    "Tải về",
    "Tải tệp đính kèm",
    "Tải file đính kèm",
    "Tải tập tin đính kèm",
    "Tải văn bản",
    "Download",
    # leaked keys and skip links
    "Sign In",
    "Skip to main content",
    "Truy cập nội dung luôn",
    "Bạn cần bật JavaScript để xem nội dung này",
    # share, related and comment labels of sites in other languages (unknown templates)
    "Share",
    "Share this",
    "Share this:",
    "Share this article",
    "Share on Facebook",
    "Share on Twitter",
    "Like this:",
    "Related",
    "Related posts",
    "Related articles",
    "Related stories",
    "You may also like",
    "You might also like",
    "Read more",
    "Read next",
    "Next up",
    "Up next",
    "Advertisement",
    "Leave a comment",
    "Leave a Reply",
    "Comments",
    "Print",
    "Email",
    # comment widgets (their headings end the article: SECTION_ENDERS)
    "Gửi bình luận",
    "Gửi ý kiến",
    "Chưa có bình luận nào",
)

# A paragraph equal to one of these opens a related-articles block: it and what follows are dropped.
SECTION_ENDERS: tuple[str, ...] = (
    "Có thể quan tâm",
    "Các tin khác",
    "Tin liên quan",
    "Tin bài liên quan",
    "Tin cùng chuyên mục",
    "Bài viết liên quan",
    "Những tin mới hơn",
    "Những tin cũ hơn",
    "Other News",
    "Related News",
    # comment widgets: what follows is readers' comments and the form to add one
    "Danh sách bình luận",
    "Ý kiến bình luận",
    "Viết bình luận",
    "Bình luận của bạn",
    "Ý kiến của bạn",
    "Ý kiến bạn đọc",
)

PLATFORM_PHRASES: dict[str, tuple[str, ...]] = {
    "liferay": ("Ngày đăng", "View count", "Pho Ban bien tap"),
    "sharepoint": (
        "This div, which you should delete, represents the content area that your Page Layouts and pages will fill.",
        "Đăng ngày",
        "Sign In",
        "Đăng nhập",
    ),
    "drupal": ("Skip to main content", "Read more", "Add new comment"),
    "joomla": ("Chi tiết", "Lượt xem", "Trang sau", "Trang trước"),
}

_COUNTER = re.compile(
    r"^(?:(?:lượt\s*xem|lượt\s*truy\s*cập|đã\s*xem|view\s*count|views?|cms-view-count|"
    r"đang\s*truy\s*cập|tổng\s*lượt\s*truy\s*cập|số\s*lượt\s*xem|lượt\s*đọc)\s*:?\s*)?[\d][\d.,\s]*"
    r"(?:lượt(?:\s*xem)?|lần|views?)?\.?$",
    re.IGNORECASE,
)
# Action labels set side by side on one line: "In bài | Gửi email", "Chia sẻ · In trang".
_ACTION_SEPARATOR = re.compile(r"\s*[|·•/]\s*|\s+-\s+")
# A comment counter: "0 Bình luận", "12 bình luận", "Bình luận (3)", "3 Comments", "No comments".
_COMMENT_COUNT = re.compile(
    r"^(?:(?:\d[\d.,]*|no)\s*(?:bình\s*luận|comments?|responses?)|(?:bình\s*luận|comments?)\s*\(\s*\d[\d.,]*\s*\))$",
    re.IGNORECASE,
)
# A row of labels: "Filed under: Politics, Economy", "Tags: …", "Từ khóa: …".
_LABEL_ROW = re.compile(
    r"^(?:filed\s+under|tagged(?:\s+with)?|tags?|topics?|categories|category|từ\s+khóa|từ\s+khoá|chủ\s+đề|thẻ)\s*:",
    re.IGNORECASE,
)
# A line of signs only: a pager ("<< < > >>"), a separator ("* * *", "-----").
_SIGNS_ONLY = re.compile(r"^[^\w./]+$")
_LEAKED_KEY = re.compile(r"^(?:cms-publish-date|cms-view-count)\b.*$", re.IGNORECASE)
_FOOTER = re.compile(
    r"^(?:ghi rõ nguồn|powered by|bản quyền thuộc|copyright|©|cơ quan chủ quản|"
    r"chịu trách nhiệm chính)\b",
    re.IGNORECASE,
)


def phrase_keys(extra: tuple[str, ...] | list[str] = ()) -> frozenset[str]:
    return frozenset(match_key(p) for p in (*SHARED_PHRASES, *extra))


SHARED_KEYS = phrase_keys()
SECTION_ENDER_KEYS = frozenset(match_key(p) for p in SECTION_ENDERS)


def _action_bar(text: str, keys: frozenset[str]) -> bool:
    """A line made only of action labels and counters ("In bài | Gửi email | Lượt xem: 12")."""
    parts = [p for p in _ACTION_SEPARATOR.split(text) if p.strip()]
    return len(parts) > 1 and all(match_key(p) in keys or _COUNTER.match(p.strip()) for p in parts)


def noise_kind(paragraph: str, keys: frozenset[str]) -> str | None:
    """Why `paragraph` is page noise ("phrase", "counter", "leaked_key", "action_bar", "label_row",
    "signs", "footer"), or None."""
    stripped = paragraph.strip()
    if len(stripped) > 300:
        return None
    if _SIGNS_ONLY.match(stripped):
        return "signs"
    if _COUNTER.match(stripped) or _COMMENT_COUNT.match(stripped):
        return "counter"
    if _LEAKED_KEY.match(stripped):
        return "leaked_key"
    if len(stripped) < 160 and match_key(stripped) in keys:
        return "phrase"
    if len(stripped) < 160 and _action_bar(stripped, keys):
        return "action_bar"
    if len(stripped) < 200 and _LABEL_ROW.match(stripped) and not stripped.endswith((".", "!", "?")):
        return "label_row"
    if len(stripped) < 300 and _FOOTER.match(stripped):
        return "footer"
    return None

"""Exit statuses of `crawler` (the README's table): every non-zero one comes with one line saying why."""

EXIT_OK = 0
EXIT_ABNORMAL = 1  # the run ended otherwise than by finishing (or a limit the user set); code errors
EXIT_USAGE = 2  # arguments, settings, folders: what the user gave
EXIT_UNREACHABLE = 3  # no start URL gave a page
EXIT_STATE = 4  # the state file is refused, or failed during the run
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM (a --job is paused)

# How a run may end and still be a success: walked to its end, or stopped at a limit the user set
# (--max-items, Scrapy's CLOSESPIDER_TIMEOUT/ITEMCOUNT/PAGECOUNT). --since ends as "finished".
NORMAL_FINISH_REASONS = frozenset(
    {"finished", "max_items", "closespider_timeout", "closespider_itemcount", "closespider_pagecount"}
)
EXIT_CHECK_WARN = 5  # the run ended normally, and a check warns (crawler.checks)
EXIT_CHECK_FAIL = 6  # the run ended normally, and a check fails

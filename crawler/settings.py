"""Scrapy settings: polite and bounded by default (DOMAIN.md §7–8). Per-portal quirks come from the
registry as spider settings; the command line may override any of these with -s NAME=VALUE."""

BOT_NAME = "vn-portal-crawler"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = "vn-portal-crawler/0.1 (+https://github.com/vn-portal-crawler; research crawler of public portals)"

# Politeness: robots.txt, one request at a time per host, about one per second.
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5

# Start hosts on loopback (a local mirror) get no delay and this many parallel requests, unless
# DOWNLOAD_DELAY is given on the command line (--delay).
LOOPBACK_CONCURRENCY = 8

# A page yields at most one record: Scrapy's default of 100 concurrent item workers per response
# only costs task scheduling.
CONCURRENT_ITEMS = 8

# Fault budgets (crawler.middlewares.BudgetRetryMiddleware). DOWNLOAD_TIMEOUT bounds one attempt,
# the whole response: slow government hosts take a few seconds to start answering and send a large
# page in well under 30 s, while a host that has sent nothing for 30 s is stalled, and waiting 120 s
# per attempt made one stalled URL cost 8 minutes. URL_TIME_BUDGET bounds a URL from its first
# attempt across every retry and wait: no retry starts that could not finish within it. A wait its
# host is under because of other URLs (a 429 storm) is not charged to a URL still queued.
DOWNLOAD_TIMEOUT = 30
URL_TIME_BUDGET = 150
RETRY_ENABLED = True
RETRY_TIMES = 3  # retries per URL, whatever the cause: exceptions, 5xx, 408, 429 share one budget
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
RETRY_PRIORITY_ADJUST = 1  # a retry goes ahead of new pages: its time budget is already running
# 429/503: the host's slot waits as long as Retry-After asks, up to this; above it the URL is given
# up (retry_after_too_long). Without Retry-After it waits RETRY_BACKOFF_BASE·2ⁿ s, at most _MAX, n
# the host's slow-downs in a row. The cap is URL_TIME_BUDGET − DOWNLOAD_TIMEOUT: a longer wait could
# never be followed by a whole attempt within the URL's budget.
RETRY_AFTER_MAX_SECONDS = 120
RETRY_BACKOFF_BASE = 2.0
RETRY_BACKOFF_MAX = 30.0

# Size limits (also applied to decompressed bodies by HttpCompressionMiddleware).
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024

# Crawl guards.
MAX_LISTING_PAGES = 500
STALE_LISTING_PAGES = 3  # a listing chain ends after this many pages in a row without a new article
MAX_NAV_DEPTH = 2
REDIRECT_MAX_TIMES = 10

# Persistent state (crawler.state): one SQLite file shared by runs; None means
# OUTPUT_ROOT/state/crawler.sqlite. The spider schedules each page once through the state's
# frontier, so Scrapy's in-memory request-fingerprint set is not needed.
STATE_PATH = None
# A running crawl renews its lease on the state this often (a quarter of it); a run whose lease
# expired is dead, whatever host it ran on, and the next run recovers what it wrote.
STATE_LEASE_SECONDS = 60
DUPEFILTER_CLASS = "scrapy.dupefilters.BaseDupeFilter"
FULL_CRAWL = False  # --full: fetch and write everything as if the state were empty (it is still updated)
RECHECK_DAYS = 7  # known articles published (or first seen) this recently are fetched again
INCREMENTAL_STOP_PAGES = 1  # incremental runs stop paging after this many listing pages of known articles
# Pages that gave 404/410, no HTML, an empty body or no article are not fetched again for this many
# days (the n-th death in a row waits the n-th value, the last repeats); --full fetches them anyway.
DEAD_PAGE_BACKOFF_DAYS = [7, 14, 28]
NEAR_DUPLICATE_THRESHOLD = 0.8  # estimated share of the shorter body's word 3-shingles found in the other
DROP_DUPLICATES = False  # True: duplicates go to rejects.jsonl instead of records.jsonl (still counted)

DOWNLOADER_MIDDLEWARES = {
    # One retry budget per URL for every cause: ours replaces Scrapy's RetryMiddleware at its place.
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BudgetRetryMiddleware": 550,
    # The crawl boundary (crawler.boundary): every request, redirect hop and retry is checked here,
    # before robots.txt (100) or any DNS look-up; Scrapy's own OffsiteMiddleware is replaced.
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.boundary.BoundaryMiddleware": 50,
}

# Hosts (host or host:port) a crawl may also touch besides its start sites and registry aliases.
BOUNDARY_EXTRA_HOSTS: list[str] = []

# Only http and https are ever downloaded, whatever a page, redirect or attachment link says.
DOWNLOAD_HANDLERS = {"file": None, "ftp": None, "s3": None, "data": None}

ITEM_PIPELINES = {
    "crawler.pipelines.AttributePortal": 100,
    "crawler.pipelines.NormalizeText": 200,
    "crawler.pipelines.StripBoilerplate": 300,
    "crawler.pipelines.SeparateCaptions": 400,
    "crawler.pipelines.ExtractSource": 500,
    "crawler.pipelines.ExtractByline": 600,
    "crawler.pipelines.ParseDates": 700,
    "crawler.pipelines.StructureDocument": 720,
    "crawler.pipelines.CollectDocumentRefs": 740,
    "crawler.pipelines.Finalize": 800,
    "crawler.files.AttachmentFiles": 850,  # on with DOWNLOAD_ATTACHMENTS
    "crawler.pipelines.ValidateRecord": 900,
    "crawler.pipelines.FilterSince": 950,
    "crawler.pipelines.TrackRecords": 1000,
    "crawler.pipelines.StoreRecord": 1100,  # last: what passes it is in the state, then in every output
}

EXTENSIONS = {
    "crawler.export.RunWriter": 500,
    "crawler.progress.ProgressLine": 600,
    "scrapy.extensions.telnet.TelnetConsole": None,
}

# One status line redrawn on the terminal (crawler.progress): "auto" draws it when stderr is a
# terminal and the log goes elsewhere (LOG_FILE, as `crawler crawl` sets); "on" or "off" force it.
PROGRESS = "auto"

# The crawl's options, each also a spider argument (crawler.spiders.portal.SPIDER_ARGUMENT_SETTINGS):
# `scrapy crawl portal -a url=… -a since=2025-01-01 -a max_items=50` is `crawler crawl … --since …`.
CRAWL_SINCE = None  # since: records (and listing/sitemap/feed entries) published before it are skipped
MAX_ITEMS = None  # max_items: the run stores and writes at most this many records, in every output
DOWNLOAD_ATTACHMENTS = False  # attachments: store attachment files (FILES_STORE, default OUTPUT_ROOT/files)
EXPORTS: list[str] = []  # export: at the end of the run, its records also go to these (crawler.sinks)
EXPORT_CSV_BOM = False  # CSV exports start with a UTF-8 byte order mark (spreadsheets read Vietnamese right)

# Where the run writes (out; a bare `scrapy crawl` gets output/runs/<run-id>).
RUN_DIR = None
RUN_ID = None  # the run's id in the state (`crawler crawl` names a folder it makes by it); else made up
RUN_GROUP = None  # set by `crawler crawl --all` on each portal's run: the id of the run of many portals
OUTPUT_ROOT = "output"

# Feeds (-o, FEEDS) in CSV and XML write records as `crawler export` does, not as Python reprs.
FEED_EXPORTERS = {"csv": "crawler.feeds.CsvFeedExporter", "xml": "crawler.feeds.XmlFeedExporter"}

LOG_LEVEL = "INFO"
# Dropped items are one line "Dropped <url>: <reason>" (crawler.logformat), at the DropItem's
# log_level, or at this level when it names none: most drops are the crawl working as intended.
LOG_FORMATTER = "crawler.logformat.PortalLogFormatter"
DEFAULT_DROPITEM_LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"

# Scrapy's remote-control extension runs an HTTP server that executes code sent to it: a crawler of
# public sites run unattended has no use for it.
REMOTE_CONTROL_ENABLED = False

# Portal files added to the packaged registry (one path, or several comma-separated): their
# [[portal]] entries join it and replace a packaged entry of the same slug. An installed package
# (or a Scrapyd egg) keeps its own registry read-only; this is how a deployment names its portals.
PORTALS_FILE = None

# Runs of many portals (`crawler crawl --all`, several slugs, --status): each portal is its own
# crawler in one process, with its own delay and concurrency; at most this many at a time.
PORTALS_AT_ONCE = 8
# A legacy (post-merger) portal whose host no longer resolves is taken for retired and passed over
# by runs of many portals for this many days, then tried once more.
RETIRED_RECHECK_DAYS = 30

# Checks (crawler.checks): each finished portal run is judged pass / warn / fail into its manifest's
# `checks`, and `crawler check RUN` judges it again with these. Shares are fractions (0.1 = 10%).
CHECK_FAILED_PAGES_WARN = 0.10  # share of fetches that failed (after retries) from which a run warns …
CHECK_FAILED_PAGES_FAIL = 0.50  # … and fails: half a portal unreachable is not a harvest
CHECK_MIN_FETCHES = 10  # fewer fetches than this: one failure is no share worth judging
CHECK_HISTORY_RUNS = 5  # the portal's recent runs (same mode: full or incremental) that make "usual"
CHECK_MIN_HISTORY = 2  # earlier runs needed before counts and rates are compared (a first run passes)
CHECK_RECORDS_DROP = 0.5  # articles seen or records written below this share of their usual count warn …
CHECK_RECORDS_MIN_USUAL = 5  # … when usual is at least this: a portal that writes 2 a day may write 0
CHECK_STALE_DAYS = 14  # an active portal without a new record for longer is "stale"
CHECK_MIN_RECORDS = 10  # fill rates and duplicate shares are compared only over this many records or more
CHECK_DRIFT_DROP = 0.4  # a field's fill rate falling this much (0.4 = 40 points) is layout drift
# Layout drift on these fields fails rather than warns: without dates, incremental runs, --since and
# the by-day counts go blind.
CHECK_DRIFT_FAIL_FIELDS = ["published_at"]
CHECK_DUPLICATES_RISE = 0.2  # duplicate share this far (20 points) above usual warns
CHECK_REJECTS_FACTOR = 3.0  # a reject reason at this many times its usual count …
CHECK_REJECTS_MIN_COUNT = 10  # … and at least this many above it warns (a new reason in bulk too)

"""The Scrapy project's settings module (`scrapy.cfg` names it): nianbao's crawl, as data.

`scrapy crawl portal`, scrapyd and `nianbao crawl` all start from these values; a run
changes any of them the Scrapy way (`-s NAME=VALUE`, or `nianbao crawl --set NAME=VALUE`).

Polite by default, for a broad crawl of many government hosts at once: robots.txt obeyed,
at most 2 requests at a time and about 1 s between requests per host (AutoThrottle may
slow a host down further, never speed it up), many hosts in parallel through a
downloader-aware priority queue, retries for 5xx/429 that honour Retry-After
(crawler.retry), bounded downloads. Every response passes the archive middleware first
(priority 950: next to the downloader, so it sees raw 3xx/4xx/5xx responses before the
redirect, retry and challenge middlewares do).

scrapy-playwright is the download handler, but Chromium starts only when a request asks
for it (`meta["playwright"]`): list pages built by scripts, and bot challenges.

nianbao's own settings are `NIANBAO_*`, read once into `spiders.config.NianbaoConfig`.
"""
from __future__ import annotations

import os

BOT_NAME = "nianbao"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# --- nianbao's own (README: "Settings") ------------------------------------------------
NIANBAO_DATA_DIR = os.environ.get("NIANBAO_DATA", "data")
NIANBAO_PORTALS = "portals.yml"
NIANBAO_FARM_URL = None            # a running portal farm, filling `{farm}` in the registry
NIANBAO_RUN_ID = None              # None: the run add-on makes one (or resumes the JOBDIR's)
NIANBAO_RENDER = "auto"            # auto | always | never
NIANBAO_CONTACT_URL = "https://github.com/nianbao/nianbao"
NIANBAO_NAV_DEPTH = 3              # links followed from a home page to find the column
NIANBAO_WARC_MAX_SIZE = 1024 ** 3  # rotate WARC files at 1 GB
NIANBAO_RETRY_AFTER_MAX = 60.0     # a longer Retry-After gives up instead of stalling
NIANBAO_CONDITIONAL = True         # re-runs ask for known documents with ETag / dates
NIANBAO_PROGRESS = "auto"          # the live progress line: auto (on a terminal) | on | off
NIANBAO_CHALLENGE_WAIT = 10.0      # seconds Chromium may take to pass a JavaScript challenge

# --- politeness ------------------------------------------------------------------------
ROBOTSTXT_OBEY = True
USER_AGENT = None  # None: "nianbao/<version> (annual-report archiver; +NIANBAO_CONTACT_URL)"
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5",
    # payloads are archived as received: ask for them unencoded (warcio decodes if not)
    "Accept-Encoding": "identity",
}
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5           # 0.5-1.5 s between requests to one host
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
SCHEDULER_PRIORITY_QUEUE = "scrapy.pqueues.DownloaderAwarePriorityQueue"
REACTOR_THREADPOOL_MAXSIZE = 20
# Scrapy starts this many asyncio workers for every callback's output: a page yields a few
# requests and at most a handful of items (the pipeline writes SQLite synchronously), so
# the default 100 tasks per response is pure overhead here
CONCURRENT_ITEMS = 8
COOKIES_ENABLED = True

# --- bounds and retries ----------------------------------------------------------------
DOWNLOAD_TIMEOUT = 60
DOWNLOAD_MAXSIZE = 200 * 1024 ** 2   # larger: cancelled, recorded in crawl_errors, not stored
DOWNLOAD_WARNSIZE = 50 * 1024 ** 2
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 10
DEPTH_LIMIT = 0                      # per-portal caps (max_pages, max_documents) bound a crawl
CLOSESPIDER_PAGECOUNT = 0

TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False       # Scrapy 2.19's code-execution HTTP server: never

# --- components ------------------------------------------------------------------------
ADDONS = {"crawler.runs.RunAddon": 0}
EXTENSIONS = {
    "crawler.runs.RunExtension": 100,
    "crawler.progress.ProgressExtension": 500,
}
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.retry.RetryAfterMiddleware": 550,
    # 580: before cookies (700) on the way out, after decompression (590) on the way back
    "crawler.challenge.ChallengeMiddleware": 580,
    "crawler.conditional.ConditionalMiddleware": 940,
    "crawler.middleware.ArchiveMiddleware": 950,
}
ITEM_PIPELINES = {"crawler.pipelines.DocumentPipeline": 300}

# --- the browser -----------------------------------------------------------------------
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
DOWNLOAD_HANDLERS = {
    "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
    "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = {
    # Debian's Chromium (browsers cannot be downloaded here); NIANBAO_CHROMIUM overrides
    "executable_path": os.environ.get("NIANBAO_CHROMIUM", "/usr/bin/chromium"),
    "args": CHROMIUM_ARGS,
    "headless": True,
}
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 60_000
PLAYWRIGHT_MAX_CONTEXTS = 4
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 4
# images, fonts and media are never loaded by a rendered page
PLAYWRIGHT_ABORT_REQUEST = "crawler.browser.abort_request"
# Playwright's driver starts with the first page that needs a browser, not with the crawl
PLAYWRIGHT_BROWSER_PROVIDER = "crawler.browser.LazyBrowserProvider"

LOG_LEVEL = os.environ.get("NIANBAO_LOG_LEVEL", "INFO")


def chromium_path() -> str:
    """The Chromium binary Playwright drives."""
    return PLAYWRIGHT_LAUNCH_OPTIONS["executable_path"]

"""Scrapy settings for a nianbao crawl, in one function: `scrapy_settings(...)`.

Polite by default: robots.txt obeyed, AutoThrottle on, a named user agent with a contact
URL, retries for 5xx/429 that honour Retry-After (crawler.retry), bounded downloads. Every
response passes through the archive middleware (priority 950: next to the downloader, so
it sees the raw 3xx/4xx/5xx responses before Redirect and Retry do) and every report
candidate through the document pipeline. Our own settings are prefixed `NIANBAO_`.

The browser (scrapy-playwright with the system Chromium) is wired in unless render is
"never"; Chromium itself starts only when a request asks for it. `NIANBAO_CHROMIUM` names
another Chromium binary; `NIANBAO_LOG_LEVEL=DEBUG` puts Scrapy's per-request lines in the log.
"""
from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PROJECT_URL = "https://github.com/nianbao/nianbao"


def version() -> str:
    try:
        return metadata.version("nianbao")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def user_agent() -> str:
    return f"nianbao/{version()} (+{PROJECT_URL}; annual-report archiver)"


def chromium_path() -> str:
    return os.environ.get("NIANBAO_CHROMIUM", "/usr/bin/chromium")


def scrapy_settings(data_dir: Path | str, run_id: str, render: str = "auto", *,
                    log_file: Path | str | None = None, log_level: str = "INFO",
                    concurrency: int = 8, per_host: int = 4,
                    download_timeout: float = 60, max_download_bytes: int = 200 * 1024 ** 2,
                    retry_times: int = 2, autothrottle: bool = True,
                    close_after_pages: int = 20000) -> dict:
    """The settings dict for one crawl run.

    :param data_dir: the archive directory (`NIANBAO_DATA_DIR`: WARC files, catalog, logs).
    :param run_id: the catalog's crawl_runs id (`NIANBAO_RUN_ID`), shared by every spider.
    :param render: "never" leaves the browser out entirely; "auto"/"always" wire it in.
    :param log_file: INFO log file (default `data/logs/<run_id>.log`); stderr gets warnings
        (see `crawler.crawl.configure_logging`).
    :param max_download_bytes: larger responses are cancelled (`DOWNLOAD_MAXSIZE`).
    :param close_after_pages: a run-wide safety net (`CLOSESPIDER_PAGECOUNT`) per spider.
    """
    data_dir = Path(data_dir)
    log_file = Path(log_file) if log_file else data_dir / "logs" / f"{run_id}.log"
    settings = {
        "BOT_NAME": "nianbao",
        "USER_AGENT": user_agent(),
        "ROBOTSTXT_OBEY": True,
        "DEFAULT_REQUEST_HEADERS": {
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5",
            # payloads are archived as received: ask for them unencoded (warcio decodes if not)
            "Accept-Encoding": "identity",
        },
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": per_host,
        "AUTOTHROTTLE_ENABLED": autothrottle,
        "AUTOTHROTTLE_START_DELAY": 1.0,
        "AUTOTHROTTLE_MAX_DELAY": 30.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 2.0,
        "DOWNLOAD_TIMEOUT": download_timeout,
        "DOWNLOAD_MAXSIZE": max_download_bytes,
        "DOWNLOAD_WARNSIZE": min(max_download_bytes, 50 * 1024 ** 2),
        "RETRY_ENABLED": True,
        "RETRY_TIMES": retry_times,
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
        "NIANBAO_RETRY_AFTER_MAX": 60.0,
        "REDIRECT_MAX_TIMES": 10,
        "DEPTH_LIMIT": 20,
        "CLOSESPIDER_PAGECOUNT": close_after_pages,
        "COOKIES_ENABLED": True,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,  # Scrapy 2.19's code-execution HTTP server: never
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "crawler.retry.RetryAfterMiddleware": 550,
            "crawler.middleware.ArchiveMiddleware": 950,
        },
        "ITEM_PIPELINES": {"crawler.pipelines.DocumentPipeline": 300},
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "NIANBAO_DATA_DIR": str(data_dir),
        "NIANBAO_RUN_ID": run_id,
        "NIANBAO_RENDER": render,
        "NIANBAO_LOG_FILE": str(log_file),
        "LOG_LEVEL": os.environ.get("NIANBAO_LOG_LEVEL", log_level),
        "LOG_ENABLED": True,
    }
    if render != "never":
        settings.update({
            "DOWNLOAD_HANDLERS": {
                "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
                "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
            },
            "PLAYWRIGHT_BROWSER_TYPE": "chromium",
            "PLAYWRIGHT_LAUNCH_OPTIONS": {"executable_path": chromium_path(),
                                          "args": CHROMIUM_ARGS, "headless": True},
            "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": int(download_timeout * 1000),
            "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 4,
        })
    return settings

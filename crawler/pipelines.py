"""The document pipeline: report candidates -> the catalog's `documents` table.

Each `DocumentItem` (a report page or attachment the spider downloaded) becomes or updates
a `documents` row linked to its capture (the id the archive middleware put in the
response's meta, else the latest capture of that URL). Each `CrawlErrorItem` (an HTTP error
that survived the retries: a 404, a 503 after its retries) becomes a `crawl_errors` row;
download exceptions are recorded by the archive middleware itself.

Settings: NIANBAO_DATA_DIR and NIANBAO_RUN_ID (both required, else the pipeline is off).
"""
from __future__ import annotations

from pathlib import Path

from scrapy.exceptions import NotConfigured

from archive.catalog import Catalog
from spiders.items import CrawlErrorItem, DocumentItem


class DocumentPipeline:
    """:param db_path: the catalog (`archive.db`); :param run_id: the current crawl run."""

    def __init__(self, db_path: Path | str, run_id: str, stats=None):
        self.db_path = Path(db_path)
        self.run_id = run_id
        self.stats = stats
        self.catalog: Catalog | None = None

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        if not s.get("NIANBAO_DATA_DIR") or not s.get("NIANBAO_RUN_ID"):
            raise NotConfigured("DocumentPipeline needs NIANBAO_DATA_DIR and NIANBAO_RUN_ID")
        return cls(Path(s["NIANBAO_DATA_DIR"]) / "archive.db", s["NIANBAO_RUN_ID"],
                   stats=crawler.stats)

    def open_spider(self) -> None:
        self.catalog = Catalog(self.db_path)
        self.catalog.ensure_run(self.run_id)

    def close_spider(self) -> None:
        if self.catalog is not None:
            self.catalog.close()
            self.catalog = None

    def _inc(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)

    def process_item(self, item):
        if self.catalog is None:
            self.open_spider()
        if isinstance(item, DocumentItem):
            capture_id = item.capture_id
            if capture_id is None:
                latest = self.catalog.latest_capture_for_url(item.url)
                capture_id = latest["id"] if latest else None
            self.catalog.upsert_document(item.portal, item.url, item.title, item.kind,
                                         item.referrer, self.run_id, capture_id)
            self._inc("nianbao/documents")
        elif isinstance(item, CrawlErrorItem):
            self.catalog.add_crawl_error(self.run_id, item.portal, item.url, item.error,
                                         item.referrer)
            self._inc("nianbao/crawl_errors")
        return item

"""The document pipeline: report candidates -> the catalog's `documents` table.

Each `DocumentItem` (a report page or attachment the spider downloaded) becomes or updates
a `documents` row, and a `document_captures` row links it to this run's capture (the id the
archive middleware put in the response's meta, else the latest capture of that URL), with
the page it was found on, its link text, and whether it is new, changed or unchanged since
the last run. Each `CrawlErrorItem` (an HTTP error that survived the retries: a 404, a 503
after its retries, an unsolved bot challenge) becomes a `crawl_errors` row; download
exceptions are recorded by the archive middleware itself.

The pipeline owns its catalog connection (opened with the spider, closed with it).
"""
from __future__ import annotations

from scrapy.exceptions import NotConfigured

from archive.catalog import Catalog
from spiders.config import NianbaoConfig
from spiders.items import CrawlErrorItem, DocumentItem


class DocumentPipeline:
    """:param config: nianbao's settings (catalog path, run id); :param stats: Scrapy's."""

    def __init__(self, config: NianbaoConfig, stats=None):
        if not config.run_id:
            raise NotConfigured("DocumentPipeline needs NIANBAO_RUN_ID")
        self.config = config
        self.run_id = config.run_id
        self.stats = stats
        self.catalog: Catalog | None = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(NianbaoConfig.from_settings(crawler.settings), stats=crawler.stats)

    def open_spider(self) -> None:
        self.catalog = Catalog(self.config.catalog_path)
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
            _, change = self.catalog.upsert_document(
                item.portal, item.url, item.title, item.kind, item.referrer, self.run_id,
                capture_id, not_modified=item.not_modified)
            self._inc("nianbao/documents")
            self._inc(f"nianbao/documents_{change}")
        elif isinstance(item, CrawlErrorItem):
            self.catalog.add_crawl_error(self.run_id, item.portal, item.url, item.error,
                                         item.referrer)
            self._inc("nianbao/crawl_errors")
        return item

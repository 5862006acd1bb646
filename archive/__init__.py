"""Storage: WARC files written with warcio, the SQLite catalog (`archive.db`) that indexes them
and holds the parsed reports, integrity checks, and the Datasette plugin that serves archived
originals. Never imports Scrapy: the crawler hands it plain values."""

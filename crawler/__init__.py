"""The application: the `nianbao` CLI, Scrapy settings, the archive downloader middleware,
run bookkeeping, the parse batch and the Datasette launcher. It wires `spiders`, `archive`
and `parsers` together; nothing else imports it."""

"""Scrapy spiders: how to walk a portal to its annual reports. One generic spider driven by a
`portals.yml` entry. Spiders know Scrapy and nothing of storage: they yield requests and
report-candidate items, and the crawler decides what is kept."""

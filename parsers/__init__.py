"""Pure functions from raw bytes to the common report model (REPORT_MODEL.md):
bytes -> `Document` (ordered blocks: paragraphs and table grids) -> `Report` dict.
No I/O beyond the bytes handed in (LibreOffice conversion works on private temp files),
and no imports of Scrapy or `archive`."""

PARSER_VERSION = "0.1.0"

"""What `nianbao serve` hands Datasette, shipped inside the package: `metadata.yml` (titles,
column notes, facets, canned queries, the dashboard), `templates/`, and the route handlers the
plugin (`archive.datasette_plugin`) registers: archived originals and the report page."""
from importlib import resources
from pathlib import Path


def web_file(name: str) -> Path:
    """Path of a file shipped in this package (metadata.yml, templates/...)."""
    return Path(str(resources.files(__name__).joinpath(name)))

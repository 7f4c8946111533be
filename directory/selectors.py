"""The directory's reads: the public record of a project, which lives in
``access_requests.selectors.public`` so that the portal's preview (a page beside the directory, which
may not import it) reads the very same selector."""

from access_requests.selectors.public import (
    DEFAULT_SORT,
    PUBLIC_COLUMNS,
    PUBLIC_STATES,
    RELEVANCE,
    SORTS,
    Criteria,
    project_path,
    project_preview,
    public_project,
    public_projects,
    public_record,
    public_records,
)

__all__ = ["DEFAULT_SORT", "PUBLIC_COLUMNS", "PUBLIC_STATES", "RELEVANCE", "SORTS", "Criteria", "project_path",
           "project_preview", "public_project", "public_projects", "public_record", "public_records"]

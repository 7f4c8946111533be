"""Split by area: portal (applicants), backoffice (reviewers), accounts."""

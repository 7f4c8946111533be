"""The site's date, time and number formats per language (FORMAT_MODULE_PATH in settings).

Django looks a format up here first, then in its own locale files: each module sets only what
differs from Django's. Templates and code name the formats (``|date:"DATE_FORMAT"``,
``date_format(value, "SHORT_DATE_FORMAT")``), never a pattern of their own.
"""

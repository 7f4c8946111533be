"""English, as written in the United Kingdom: "3 December 2026, 2:05 pm", "3 Dec 2026".

Django's "en" formats are American ("Dec. 3, 2026, 2:05 p.m.", month first in input). The
"a" format character goes through gettext ("a.m."/"p.m."): the English catalogue of this
project translates both to "am"/"pm" (marked below so that makemessages keeps them).
"""

from django.utils.translation import gettext_noop

AM_PM = (gettext_noop("a.m."), gettext_noop("p.m."))  # the English catalogue says "am", "pm"

DATE_FORMAT = "j F Y"  # 3 December 2026
TIME_FORMAT = "g:i a"  # 2:05 pm
DATETIME_FORMAT = "j F Y, g:i a"  # 3 December 2026, 2:05 pm
SHORT_DATE_FORMAT = "j M Y"  # 3 Dec 2026 (never 12/03/2026, read either way)
SHORT_DATETIME_FORMAT = "j M Y, g:i a"  # 3 Dec 2026, 2:05 pm
MONTH_DAY_FORMAT = "j F"  # 3 December
YEAR_MONTH_FORMAT = "F Y"  # December 2026
FIRST_DAY_OF_WEEK = 1  # Monday

# Typed dates are day first (the ISO forms are added by Django): never the American month first.
DATE_INPUT_FORMATS = ["%d/%m/%Y", "%d/%m/%y"]
DATETIME_INPUT_FORMATS = ["%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%y %H:%M:%S", "%d/%m/%y %H:%M"]

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3

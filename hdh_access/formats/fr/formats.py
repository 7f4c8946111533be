"""French: « 3 décembre 2026 à 14 h 05 », « 03/12/2026 », 1 234,5 (Imprimerie nationale's rules).

Django's own French formats write times "14:05" and group thousands with a no-break space; the
French typographic norm writes "14 h 05" and groups with a narrow no-break space.
"""

DATE_FORMAT = "j F Y"  # 3 décembre 2026
TIME_FORMAT = r"G \h i"  # 14 h 05
DATETIME_FORMAT = r"j F Y \à G \h i"  # 3 décembre 2026 à 14 h 05
SHORT_DATE_FORMAT = "d/m/Y"  # 03/12/2026
SHORT_DATETIME_FORMAT = r"d/m/Y \à G \h i"  # 03/12/2026 à 14 h 05
MONTH_DAY_FORMAT = "j F"  # 3 décembre
YEAR_MONTH_FORMAT = "F Y"  # décembre 2026
FIRST_DAY_OF_WEEK = 1  # Monday

DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "\u202f"  # narrow no-break space: 12 345
NUMBER_GROUPING = 3

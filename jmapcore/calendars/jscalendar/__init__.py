"""iCalendar (RFC 5545) <-> JSCalendar (RFC 8984) as the JMAP Calendars
specification uses it, and recurrence expansion.

Pure format code: no Django, no I/O, linear time in the input (expansion is
bounded by the caller's window and an occurrence cap). An object that cannot
be read completely is read as far as it goes, and what was lost is reported
in its `problems`; nothing here raises on bad input.
"""

"""vCard (RFC 6350, RFC 2426) <-> JSContact (RFC 9553) by the rules of RFC 9555.

Pure format code: no Django, no I/O, linear time on any input. A vCard that
cannot be read completely is read as far as it goes, and what was lost is
reported in its `problems`; nothing here raises on bad input.
"""

"""JMAP for Calendars (draft-ietf-jmap-calendars) over CalDAV: the capabilities,
their methods (methods/), and the iCalendar <-> JSCalendar conversion
(jscalendar/, no Django). Same shape as jmapcore.mail and jmapcore.contacts."""

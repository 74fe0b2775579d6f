"""Pure JMAP (RFC 8620): no Django, no backends. Everything here is testable alone."""

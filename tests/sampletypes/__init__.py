"""A data type that exists only in tests (Note), to exercise the generic
standard-method engine of jmapcore.datatypes before the mail types use it."""

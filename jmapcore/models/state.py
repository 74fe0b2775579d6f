"""Per-type JMAP state (see jmapcore.state)."""

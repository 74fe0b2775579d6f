"""RFC 8621 mail on top of the generic engine: the data types (Mailbox,
Thread, Email, SearchSnippet) and the services they share. Method modules in
jmapcore/methods/ register them."""

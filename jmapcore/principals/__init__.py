"""urn:ietf:params:jmap:principals (RFC 9670): the account owner as a Principal.

Importing jmapcore.principals.methods registers the capability and its
handlers (done by jmapcore.contacts.methods, since principals are offered
with contacts)."""

"""WebDAV code shared by the CardDAV and CalDAV backends (moved here from backends.carddav).

- client.py: DavClient (httpx; TLS, size caps, no redirects or foreign hosts
  with the credentials, request observers), DavAnswer, etag_normalise
- davxml.py: multistatus parsing (lxml, no entities), PROPFIND and
  sync-collection bodies, DAV error preconditions
- hrefs.py: one normal form for every href (Radicale, Xandikos, others) and
  the checks that keep credentials on the account's server
- errors.py: DavRefused, DavConflict (412), DavTooLarge, transient/permanent
- poll.py, tasks.py: the shorter polling of DAV sync parts while a JMAP client
  listens (DAV has no push), for any part registered with dav_poll_register

backends.carddav.davxml keeps the CardDAV request bodies.
"""

"""WebDAV code shared by the CardDAV and CalDAV backends.

- poll.py: the shorter polling of DAV sync parts while a JMAP client listens
  (DAV has no push), for any part registered with dav_poll_register.

The generic WebDAV client, XML, hrefs and errors still live in
backends.carddav (client.py, davxml.py, hrefs.py, errors.py) and are imported
from there by backends.caldav; they move here once the CardDAV work is quiet.
"""

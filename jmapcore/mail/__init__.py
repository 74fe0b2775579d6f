"""RFC 8621 mail: the urn:ietf:params:jmap:mail capability and the ones that
only exist with it (submission, vacationresponse; quota (RFC 9425) as this
proxy serves it from IMAP QUOTA).

Shape, which jmapcore/contacts/ and jmapcore/calendars/ copy:

- ``<capability>/methods/<type>.py``: one module per data type, named after
  the type in snake case (``Email`` → ``methods/email.py``, ``EmailSubmission``
  → ``methods/email_submission.py``). It declares the type's properties and
  registers every ``<Type>/<verb>`` handler (RFC 8620 §5), so a method's code is
  found from its name in one step: ``Email/query`` is in
  ``jmapcore/mail/methods/email.py``. The handlers there are thin; they call
- ``<capability>/<type>_<action>.py``: the services behind them
  (``email_query.py``, ``email_set.py``, ``mailbox_tree.py``, …), named
  ``<entity>_<action>`` as everywhere else, so the service for ``Email/query``
  sits next to it in the listing.
- ``<capability>/capability.py`` (and ``submission_capability.py`` here): the
  capability URNs and their session/account objects (RFC 8620 §2).

A ``methods`` subpackage, rather than ``<type>_methods.py`` modules beside the
services, keeps the registration modules (which import everything) apart from
the services (which import little), and makes ``jmapcore.<capability>.methods``
the one thing jmapcore.apps imports to register a capability's handlers.
"""

"""JMAP for Contacts (RFC 9610) over CardDAV: the capability, its methods
(methods/), and the vCard <-> JSContact conversion (jscontact/, no Django)."""

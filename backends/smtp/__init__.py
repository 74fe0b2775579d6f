"""SMTP submission (RFC 5321, RFC 6409): sending, envelopes, error mapping.

- client.py: smtp_send() and its per-recipient SmtpResult;
- envelope.py: the RFC 8621 §7 envelope from a message's headers, and Bcc removal;
- errors.py: SmtpError and its mapping to EmailSubmission SetError types (RFC 8621 §7.5);
- check.py: smtp_backend_check(), a connect-and-authenticate probe.
"""

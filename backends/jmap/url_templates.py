"""Filling the URL templates of an upstream Session (RFC 8620 §2, RFC 6570 level 1).

An upstream's downloadUrl, uploadUrl and eventSourceUrl are RFC 6570 level-1
templates: each `{name}` is replaced by the value of `name`, percent-encoded
so that only unreserved characters (RFC 3986 §2.3) stay as they are. A
variable the caller does not give expands to the empty string (RFC 6570 §2.3),
and a value the template does not name is simply unused: Cyrus's downloadUrl
names the type as `?accept={type}`, others have no `{type}` at all, and the
same call fits both.
"""
from __future__ import annotations

import re
from urllib.parse import quote

# RFC 6570 §2.3: a level-1 expression is one variable name between braces.
_EXPRESSION = re.compile(r"\{([A-Za-z0-9_.%]{1,64})\}")


def url_template_variables(template: str) -> list[str]:
    """The variable names `template` uses, in order of appearance."""
    return [match.group(1) for match in _EXPRESSION.finditer(template)]


def url_template_fill(template: str, /, **values: str) -> str:
    """`template` with every `{name}` replaced by the percent-encoded `values[name]`.

    RFC 6570 §3.2.2 (simple string expansion): characters outside the
    unreserved set, "/" included, are percent-encoded as UTF-8. A value that
    is exactly "." or ".." has its dots encoded too: left as they are, it
    would be a dot-segment (RFC 3986 §5.2.4) that the HTTP client resolves, so
    a client's blobId ".." would climb out of the download path upstream.
    """

    def expand(match: re.Match[str]) -> str:
        value = str(values.get(match.group(1), ""))
        if value in (".", ".."):
            return value.replace(".", "%2E")
        return quote(value, safe="-._~")

    return _EXPRESSION.sub(expand, template)

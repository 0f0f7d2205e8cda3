"""Kubernetes naming rules, as the API server checks them."""

from __future__ import annotations

import re
from typing import Any

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def is_dns1123_label(value: Any) -> bool:
    """A namespace name: lowercase alphanumerics and '-', at most 63 characters."""
    return isinstance(value, str) and len(value) <= 63 and bool(_DNS1123_LABEL.match(value))


def is_dns1123_subdomain(value: Any) -> bool:
    """An object name (pods, policies): dot-separated DNS labels, at most 253 characters."""
    return isinstance(value, str) and len(value) <= 253 and bool(_DNS1123_SUBDOMAIN.match(value))


def is_qualified_name(key: Any) -> bool:
    """A label key: an optional DNS subdomain prefix and '/', then a name of 1-63 characters."""
    if not isinstance(key, str):
        return False
    prefix, _, name = key.rpartition("/")
    if "/" in key and not is_dns1123_subdomain(prefix):
        return False
    return 0 < len(name) <= 63 and bool(_LABEL_NAME.match(name))


def is_label_value(value: Any) -> bool:
    """A label value: empty, or up to 63 alphanumerics, '-', '_' and '.' inside."""
    return isinstance(value, str) and (
        value == "" or (len(value) <= 63 and bool(_LABEL_NAME.match(value)))
    )


def is_service_name(value: Any) -> bool:
    """IANA_SVC_NAME (a port name): 1-15 lowercase alphanumerics or '-', a letter, no '--'."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= 15
        and bool(_SVC_NAME.match(value))
        and "--" not in value
        and any(c.isalpha() for c in value)
    )

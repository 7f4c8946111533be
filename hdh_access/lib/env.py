"""Small typed readers for settings taken from the environment.

Each one fails loudly on a value it cannot parse, so a typo in a deployment is an error at
start-up rather than a silent default.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """An integer; with ``minimum``, a smaller value (the default included) stops the start."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        value = default
    else:
        try:
            value = int(raw)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str) -> list[IPv4Network | IPv6Network]:
    """A comma-separated list of IP addresses or CIDR networks ("10.0.0.0/8, 192.0.2.7")."""
    networks = []
    for item in env_list(name, []):
        try:
            networks.append(ip_network(item, strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name} must list IP addresses or networks, got {item!r}") from exc
    return networks


def env_origin(name: str, default: str) -> str:
    """A site's origin, ``http(s)://host[:port]`` (a trailing ``/`` is dropped): the scheme,
    host and port every absolute link starts with. A path, query or other scheme is refused."""
    raw = os.environ.get(name)
    value = (default if raw is None or raw.strip() == "" else raw).strip().rstrip("/")
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
        parts = urlsplit("")
    if parts.scheme not in {"http", "https"} or not parts.hostname or not port_ok or parts.path or parts.query \
            or parts.fragment or parts.username or parts.password:
        raise ImproperlyConfigured(f"{name} must be http(s)://host[:port] with no path, got {raw!r}")
    return value


def env_checked(name: str, default: str, check: Callable[[str], object], *, required: bool = False) -> str:
    """A trimmed string that ``check`` accepts (it raises ValueError with the reason otherwise).
    An empty value is returned unchecked (the feature it configures is off) unless ``required``."""
    value = env_str(name, default).strip()
    if required and not value:
        raise ImproperlyConfigured(f"{name} must be set")
    if value:
        try:
            check(value)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: {exc}") from None
    return value


def contact_address(value: str) -> str:
    """An email address or an https:// address (where users write to), else ValueError."""
    if value.startswith("https://") or "@" in value.strip("@"):
        return value
    raise ValueError(f"must be an email address or an https:// address, got {value!r}")


def replica_url(value: str) -> str:
    """A postgres:// URL naming a host and a database (the read replica), else ValueError."""
    parts = urlsplit(value)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"} or not parts.hostname or not parts.path.strip("/"):
        # The value is not repeated: it may hold a password.
        raise ValueError("must be postgres://user[:password]@host[:port]/database")
    return value


def oidc_issuer(value: str) -> str:
    """An OpenID Connect issuer: an https:// URL (its discovery document is at
    ``<issuer>/.well-known/openid-configuration``), or http:// on this machine (a test provider);
    no query or fragment. Else ValueError."""
    parts = urlsplit(value)
    secure = parts.scheme == "https" or (parts.scheme == "http" and is_local_host(parts.hostname or ""))
    if not secure or not parts.hostname or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"must be an https:// URL with no query (http:// on this machine only), got {value!r}")
    return value


def is_local_host(host: str) -> bool:
    """True for an ALLOWED_HOSTS entry that only this machine reaches: ``localhost`` and its
    subdomains (``.localhost`` too, RFC 6761), a loopback address (``127.0.0.0/8``, ``[::1]``), or
    ``testserver`` (the name of Django's test client, which no resolver knows)."""
    name = host.strip().lower().rstrip(".")
    if name in {"localhost", "testserver"} or name.endswith(".localhost"):
        return True
    try:
        return ip_address(name.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False

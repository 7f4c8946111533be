"""The address a request comes from, as far as this site can trust it.

REMOTE_ADDR is the address of whatever opened the connection. Behind a reverse proxy that is
the proxy, and the client is in X-Forwarded-For, which each proxy extends on the right; anything
on its left may have been written by the client. So the header is read only when REMOTE_ADDR is
one of HDH_TRUSTED_PROXIES, and from the right: the first address that is not a trusted proxy is
the client (the last one our proxies saw). Without trusted proxies the header is ignored, so a
client cannot pick the address that login lockouts count against.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from django.conf import settings


def _parse(text: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: IPv4Address | IPv6Address, proxies: list[IPv4Network | IPv6Network]) -> bool:
    return any(address in network for network in proxies)


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or the right-most untrusted X-Forwarded-For address when
    REMOTE_ADDR is a trusted proxy (django-axes' AXES_CLIENT_IP_CALLABLE)."""
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = settings.HDH_TRUSTED_PROXIES
    remote_address = _parse(remote) if remote else None
    if remote_address is None or not proxies or not _trusted(remote_address, proxies):
        return remote
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    addresses = []
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            return remote  # an unreadable hop: believe nothing on its left, count against the proxy
        if not _trusted(address, proxies):
            return str(address)
        addresses.append(address)
    # Every hop is a trusted proxy (a request from inside): the left-most one, else the proxy itself.
    return str(addresses[-1]) if addresses else remote

"""A DNS resolver for tests of hosts that are gone: loopback names resolve, every other name fails
at once as a name that does not resolve would, and no query leaves the machine."""

from __future__ import annotations

from typing import Any

from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer
from twisted.internet.error import DNSLookupError

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class LoopbackOnlyResolver(CachingThreadedResolver):
    """DNS_RESOLVER = "tests.loopback_dns.LoopbackOnlyResolver"."""

    def getHostByName(self, name: str, timeout: Any = ()) -> Any:  # noqa: N802 — Twisted's name
        if name not in LOOPBACK_NAMES and not name.startswith("127."):
            return defer.fail(DNSLookupError(f"{name} does not resolve (tests.loopback_dns)"))
        return super().getHostByName(name, timeout)

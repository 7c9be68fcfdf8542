"""Refusing server API and admin requests that a browser sends on behalf of another site.

The server API and the admin endpoints take no cookies, but with ``api_insecure`` or
``admin_insecure`` they need no credential at all, and a page of any web site can make its
visitor's browser POST to them (a form with ``enctype="text/plain"`` or a ``no-cors`` fetch
carries a JSON body).  That reaches servers a firewall keeps away from the attacker, the
setup the insecure options are meant for.  Backends and SDKs send neither header below;
browsers send both.  The rule is Go's ``http.CrossOriginProtection``: a request is
cross-site when ``Sec-Fetch-Site`` is present and neither ``same-origin`` nor ``none`` (the
user typed the address), or, from browsers without ``Sec-Fetch-Site``, when ``Origin`` is
present and names another host than ``Host``.  Such requests get 403 on the admin endpoints
(browser-facing) and on the HTTP API while ``api_insecure`` is on; with an API key a page
cannot forge the key, so keyed API calls are served whatever their origin.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

ALLOWED_FETCH_SITES = ("same-origin", "none")


def cross_site(request: web.Request) -> bool:
    """True when a browser sent ``request`` from a page of another origin."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site.lower() not in ALLOWED_FETCH_SITES
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    try:
        host = urlsplit(origin).netloc
    except ValueError:
        return True
    return not host or host.lower() != request.host.lower()


def forbidden() -> web.Response:
    """The answer to a cross-site request."""
    return web.Response(status=403, text="Forbidden: cross-site request")

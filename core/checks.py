"""System checks (``manage.py check``) for Tidbok's own settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register

from .public_url import concrete_hosts


@register(Tags.compatibility)
def public_url_old_name(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """TIDBOK_SITE_URL was the address for staff invitations only, beside TIDBOK_PUBLIC_URL for
    everything else. A deployment that still sets it keeps working, but is told to rename it."""
    old = getattr(settings, "TIDBOK_SITE_URL", None)
    if old is None:
        return []
    new = settings.TIDBOK_PUBLIC_URL
    if new and new.rstrip("/") != str(old).rstrip("/"):
        return [
            Warning(
                "TIDBOK_SITE_URL is deprecated and ignored: TIDBOK_PUBLIC_URL is set to another address, "
                "and it is used for every link, staff invitations included.",
                hint="Remove TIDBOK_SITE_URL from the environment.",
                id="core.W002",
            )
        ]
    return [
        Warning(
            "TIDBOK_SITE_URL is deprecated: it is read as TIDBOK_PUBLIC_URL, the one address used for every "
            "link in e-mail, SMS, calendar files, staff invitations and the SMART bulk files.",
            hint="Rename TIDBOK_SITE_URL to TIDBOK_PUBLIC_URL in the environment.",
            id="core.W001",
        )
    ]


@register(Tags.security, deploy=True)
def public_url_known(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Without an address and without a concrete allowed host, links in e-mail would have no host."""
    configured = settings.TIDBOK_PUBLIC_URL or getattr(settings, "TIDBOK_SITE_URL", None)
    if configured or concrete_hosts():
        return []
    return [
        Warning(
            "Links in e-mail, SMS and calendar files have no address: TIDBOK_PUBLIC_URL is not set "
            "and ALLOWED_HOSTS names no concrete host.",
            hint="Set TIDBOK_PUBLIC_URL to the address residents reach Tidbok at, e.g. https://tidbok.region.se.",
            id="core.W003",
        )
    ]

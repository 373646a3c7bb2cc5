"""Tidbok's public address, for every absolute link made without a request to take the host from:
e-mail and SMS notifications, calendar files, staff invitations, e-mail confirmation links and
the SMART bulk files' booking deep links. One setting, ``TIDBOK_PUBLIC_URL``, sets them all."""

from __future__ import annotations

from django.conf import settings

# What a development run (DEBUG) serves on when nothing is set.
DEVELOPMENT_URL = "http://127.0.0.1:8000"


def configured_url() -> str:
    """The address as set, without a trailing slash: ``TIDBOK_PUBLIC_URL``, else its deprecated
    old name ``TIDBOK_SITE_URL`` (core.checks warns about it), else empty."""
    configured = settings.TIDBOK_PUBLIC_URL or getattr(settings, "TIDBOK_SITE_URL", "") or ""
    return str(configured).rstrip("/")


def concrete_hosts() -> list[str]:
    """ALLOWED_HOSTS without wildcards and subdomain patterns: the names a link could use."""
    return [h for h in settings.ALLOWED_HOSTS if h and "*" not in h and not h.startswith(".")]


def public_base_url() -> str:
    """The set address; unset, the development server's with DEBUG, else ``https://`` and the first
    concrete allowed host; empty only when there is none (check --deploy warns then)."""
    configured = configured_url()
    if configured:
        return configured
    if settings.DEBUG:
        return DEVELOPMENT_URL
    hosts = concrete_hosts()
    return f"https://{hosts[0]}" if hosts else ""


def public_url(path: str) -> str:
    """``path`` (a site path from reverse()) as an absolute link."""
    return public_base_url() + path

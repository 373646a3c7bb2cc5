"""Periodic work for accounts."""

from __future__ import annotations

from celery import shared_task

from . import contact_services, invitations, services


@shared_task
def audit_events_purge() -> int:
    """R-SEC-7: nightly, delete only audit events older than the retention period."""
    return services.audit_events_purge()


# R-NOTE-1: a mail server or gateway that does not answer is tried again, with back-off.
@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def contact_email_link_send(user_id: int, nonce: str) -> bool:
    return contact_services.contact_email_link_send(user_id=user_id, nonce=nonce)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def contact_mobile_code_send(user_id: int, nonce: str) -> bool:
    return contact_services.contact_mobile_code_send(user_id=user_id, nonce=nonce)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def staff_invitation_send(user_id: int, region_name: str) -> bool:
    return invitations.staff_invitation_send(user_id=user_id, region_name=region_name)

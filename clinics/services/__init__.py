"""Writes for clinics, one module per part: ``common`` (the admin roles, the role check, the FHIR
feed's refresh ask), ``case_types``, ``appointment_types`` (with their policy and waitlist
settings), ``resources``, ``clinic_settings`` (direct links, patient comment, meeting links) and
``relations`` (the start page and approval for communication). The public names are re-exported
here: callers import from ``clinics.services``."""

from .appointment_types import TYPE_FIELDS, appointment_type_save, appointment_type_waitlist_update
from .case_types import case_type_activate, case_type_deactivate, case_type_update, clinic_ensure_case_types
from .clinic_settings import clinic_meeting_template_update, clinic_patient_comment_update, direct_link_create
from .common import ADMIN_ROLES, FEED_REFRESH_ASK, feed_refresh_later
from .relations import (
    COMMUNICATION_ROLES,
    communication_approve,
    communication_withdraw,
    relation_add,
    relation_add_statement,
    relation_add_through_contact_card,
    relation_remove,
)
from .resources import resource_save, validate_resource_name

__all__ = [
    "ADMIN_ROLES",
    "COMMUNICATION_ROLES",
    "FEED_REFRESH_ASK",
    "TYPE_FIELDS",
    "appointment_type_save",
    "appointment_type_waitlist_update",
    "case_type_activate",
    "case_type_deactivate",
    "case_type_update",
    "clinic_ensure_case_types",
    "clinic_meeting_template_update",
    "clinic_patient_comment_update",
    "communication_approve",
    "communication_withdraw",
    "direct_link_create",
    "feed_refresh_later",
    "relation_add",
    "relation_add_statement",
    "relation_add_through_contact_card",
    "relation_remove",
    "resource_save",
    "validate_resource_name",
]

"""A resident's relations with clinics: the start page and approval for communication (R-REL-1…3)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import audit_record

from ..models import CaseKind, Clinic, ClinicRelation, RelationSource
from ..selectors import case_type_admits, case_type_for
from .common import require_role


def relation_add(*, resident: User, clinic: Clinic, source: RelationSource) -> ClinicRelation:
    """R-REL-1: every way of creating a relation also puts the clinic on the start page.

    One statement (every booking asks this): :func:`relation_add_statement`, returning the row."""
    statement, params = relation_add_statement(resident_id=resident.pk, clinic_id=clinic.pk, source=source)
    (relation,) = ClinicRelation.objects.raw(f"{statement} RETURNING *", params)
    relation.resident, relation.clinic = resident, clinic
    return relation


def relation_add_statement(*, resident_id: int, clinic_id: int, source: RelationSource) -> tuple[str, list[object]]:
    """:func:`relation_add` as an SQL statement and its parameters, for a caller that sends it
    inside a statement of its own (a web booking: in its INSERT, as a data-modifying CTE). An
    insert that, where the relation is there, puts it back on the start page instead; its source
    and approval stay, and ``updated_at`` moves only when it was off. PostgreSQL and SQLite both
    take ``ON CONFLICT … DO UPDATE``."""
    now = timezone.now()
    return _RELATION_ADD, [resident_id, clinic_id, source, now, now]


_TABLE = ClinicRelation._meta.db_table
_RELATION_ADD = f"""
    INSERT INTO {_TABLE} (resident_id, clinic_id, on_start_page, approved_for_communication, source,
                          created_at, updated_at)
    VALUES (%s, %s, true, false, %s, %s, %s)
    ON CONFLICT (resident_id, clinic_id) DO UPDATE SET
        on_start_page = true,
        updated_at = CASE WHEN {_TABLE}.on_start_page THEN {_TABLE}.updated_at ELSE excluded.updated_at END"""


def relation_add_through_contact_card(*, resident: User, clinic: Clinic, kind: CaseKind) -> ClinicRelation | None:
    """R-REL-1 (guide 001): logging in through an e-service link on the clinic's contact card
    creates the relation and puts the clinic on the start page, as a direct link does. Only
    when the case type admits the resident (R-CASE-3): the card is no back door into a case
    type for residents with a relation only."""
    if not case_type_admits(case_type=case_type_for(clinic=clinic, kind=kind), resident=resident):
        return None
    return relation_add(resident=resident, clinic=clinic, source=RelationSource.CONTACT_CARD)


def relation_remove(*, resident: User, clinic: Clinic) -> ClinicRelation | None:
    """R-REL-2: off the start page; the relation stays while approved for communication."""
    relation = ClinicRelation.objects.filter(resident=resident, clinic=clinic).first()
    if relation is not None:
        relation.on_start_page = False
        relation.save(update_fields=["on_start_page", "updated_at"])
    return relation


COMMUNICATION_ROLES = (Role.LOCAL_ADMIN, Role.SCHEDULER, Role.REGION_IT)


@transaction.atomic
def communication_approve(*, actor: User, resident: User, clinic: Clinic) -> ClinicRelation:
    """R-REL-1: approved for communication, the resident has the clinic on the start page; on the
    audit log in the same transaction (R-LOG-4)."""
    require_role(actor, clinic, COMMUNICATION_ROLES)
    relation = relation_add(resident=resident, clinic=clinic, source=RelationSource.COMMUNICATION)
    relation.approved_for_communication = True
    relation.save(update_fields=["approved_for_communication", "updated_at"])
    audit_record(actor=actor, action="communication.approve", clinic=clinic, resident=resident, obj=relation)
    return relation


@transaction.atomic
def communication_withdraw(*, actor: User, resident: User, clinic: Clinic) -> ClinicRelation | None:
    """R-REL-3: withdrawing the approval ends the relation and takes the clinic off the start page;
    on the audit log in the same transaction (R-LOG-4)."""
    require_role(actor, clinic, COMMUNICATION_ROLES)
    relation = ClinicRelation.objects.select_for_update().filter(resident=resident, clinic=clinic).first()
    if relation is not None:
        relation.approved_for_communication = False
        relation.on_start_page = False
        relation.save(update_fields=["approved_for_communication", "on_start_page", "updated_at"])
    audit_record(actor=actor, action="communication.withdraw", clinic=clinic, resident=resident, obj=relation)
    return relation

"""Show the plan PostgreSQL uses for the residents' free-times query on a large timebook.

Builds (or reuses) a database of its own, `tidbok_explain`, never the demo or test database:
100 clinics × 10 resources × 60 days × 17 slots a day ≈ 1 M slots, a third of them booked,
then prints EXPLAIN (ANALYZE, BUFFERS) of the real selector's query.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tidbok_explain SECRET_KEY=x \\
        .venv/bin/python scripts/explain_availability.py
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tidbok.settings")
if "tidbok_explain" not in os.environ.get("DATABASE_URL", ""):
    sys.exit("Set DATABASE_URL to a database named tidbok_explain; this script fills it with test data.")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from clinics.models import AppointmentType, Audience, CaseKind, CaseType, Clinic, Region, Resource  # noqa: E402
from schedules.models import Slot  # noqa: E402
from schedules.selectors import offered_slots  # noqa: E402

CLINICS, RESOURCES, DAYS, PER_DAY = 100, 10, 60, 17


def build() -> None:
    call_command("migrate", verbosity=0)
    if Slot.objects.exists():
        return
    region = Region.objects.create(name="Region Test", code="01")
    for c in range(CLINICS):
        clinic = Clinic.objects.create(hsa_id=f"SE-EXPLAIN-{c}", name=f"Vårdcentral {c}", region=region)
        for kind in CaseKind:
            CaseType.objects.create(
                clinic=clinic, kind=kind, is_active=True, conditions_text="x", audience=Audience.ALL
            )
        AppointmentType.objects.create(
            clinic=clinic, internal_name="Besök", web_name="Besök", bookable_on_web=True, visibility_days=15
        )
        Resource.objects.bulk_create(Resource(clinic=clinic, name=f"Distriktssköterska {r}") for r in range(RESOURCES))
    start = timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO schedules_slot
                (clinic_id, resource_id, appointment_type_id, start, "end", status, is_published, is_blocked,
                 published_at, created_at)
            SELECT r.clinic_id, r.id, t.id, s.start, s.start + interval '20 minutes',
                   CASE WHEN random() < 0.33 THEN 'booked' ELSE 'free' END, true, false, now(), now()
            FROM clinics_resource r
            JOIN clinics_appointmenttype t ON t.clinic_id = r.clinic_id
            CROSS JOIN LATERAL (
                SELECT (%s::date + d) + time '08:00' + n * interval '25 minutes' AS start
                FROM generate_series(0, %s - 1) d, generate_series(0, %s - 1) n
            ) s
            """,
            [start, DAYS, PER_DAY],
        )
        cursor.execute("UPDATE schedules_slot SET is_published = false WHERE status = 'booked'")
        cursor.execute("ANALYZE schedules_slot")


def main() -> None:
    build()
    resident, _ = User.objects.get_or_create(username="explain", defaults={"personnummer": "198503142385"})
    clinic = Clinic.objects.order_by("?").first()
    if clinic is None:
        raise SystemExit("build() made no clinic")
    appointment_type = AppointmentType.objects.get(clinic=clinic)
    query = offered_slots(
        clinic=clinic,
        appointment_type=appointment_type,
        resident=resident,
        until=timezone.now() + dt.timedelta(days=14),
    )
    print(f"slots in table: {Slot.objects.count():,}")
    print(f"offered to the resident: {query.count()}")
    print(query.explain(analyze=True, buffers=True))


if __name__ == "__main__":
    main()

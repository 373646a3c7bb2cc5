-- pgbench script for `make bench`: the transaction bookings.services.booking_create runs for a web
-- booking, statement for statement (the ORM's SQL, captured from a real booking), so pg_booking_tps
-- is what PostgreSQL on this machine allows for exactly that work. Values the ORM carries in Python
-- (the slot's start, end and names) are read by subselects instead; the rows touched and the locks
-- taken are the same. Each transaction takes the next (resident, free slot) pair.
SELECT resident_id AS rid, slot_id AS sid FROM bench_pg_pairs WHERE n = (SELECT nextval('bench_pg_pair')) \gset
BEGIN;
-- resident_lock
SELECT id FROM accounts_user WHERE id = :rid LIMIT 21 FOR UPDATE;
-- _lock_slots, with clinic, region, type and resource
SELECT s.*, c.*, r.*, t.*, rs.* FROM schedules_slot s
  JOIN clinics_clinic c ON c.id = s.clinic_id JOIN clinics_region r ON r.id = c.region_id
  JOIN clinics_appointmenttype t ON t.id = s.appointment_type_id JOIN clinics_resource rs ON rs.id = s.resource_id
  WHERE s.id = :sid ORDER BY s.id FOR UPDATE OF s;
SELECT clinic_id AS cid, appointment_type_id AS tid, resource_id AS resid FROM schedules_slot WHERE id = :sid \gset
-- slot_check_offered: the case type, then the bookable type
SELECT ct.*, c.*, r.* FROM clinics_casetype ct JOIN clinics_clinic c ON c.id = ct.clinic_id
  JOIN clinics_region r ON r.id = c.region_id WHERE ct.clinic_id = :cid AND ct.kind = 'book' LIMIT 1;
SELECT DISTINCT 1 AS a FROM clinics_appointmenttype t
  LEFT OUTER JOIN bookings_bookingbasis b ON t.id = b.appointment_type_id
  WHERE t.bookable_on_web AND t.clinic_id = :cid AND NOT t.hidden_for_patient AND NOT t.web_name = ''
    AND NOT t.internal_name LIKE '%Ombud%'
    AND (NOT t.requires_booking_basis OR (b.consumed_at IS NULL AND b.resident_id = :rid))
    AND t.id = :tid LIMIT 1;
-- _check_no_overlap
SELECT 1 AS a FROM bookings_booking b WHERE b.resident_id = :rid AND b.status = 'active'
  AND b."end" > (SELECT start FROM schedules_slot WHERE id = :sid)
  AND b.start < (SELECT "end" FROM schedules_slot WHERE id = :sid) LIMIT 1;
-- _insert_booking (no savepoint: a refused insert ends the booking)
INSERT INTO bookings_booking (slot_id, resident_id, clinic_id, appointment_type_id, resource_id, start, "end",
    status, channel, created_by_id, proxy_unit, patient_phone, patient_reason, calendar_uid, calendar_sequence,
    referral_source, booking_referral, meeting_url, created_at)
  SELECT id, :rid, clinic_id, appointment_type_id, resource_id, start, "end", 'active', 'web', :rid, '', '', '',
         gen_random_uuid()::text || '@tidbok', 0, '', '', '', now()
  FROM schedules_slot WHERE id = :sid RETURNING id AS bid \gset
UPDATE schedules_slot SET status = 'booked', is_published = false, published_at = NULL WHERE id = :sid;
-- the resident's own hold converted, anyone else's released, in one statement
UPDATE schedules_hold SET state = CASE WHEN resident_id = :rid THEN 'converted' ELSE 'released' END
  WHERE slot_id = :sid AND state = 'active';
-- relation_add: one upsert
INSERT INTO clinics_clinicrelation (resident_id, clinic_id, on_start_page, approved_for_communication, source,
    created_at, updated_at) VALUES (:rid, :cid, true, false, 'booking', now(), now())
  ON CONFLICT (resident_id, clinic_id) DO UPDATE SET on_start_page = true,
    updated_at = CASE WHEN clinics_clinicrelation.on_start_page THEN clinics_clinicrelation.updated_at
                 ELSE excluded.updated_at END
  RETURNING *;
-- _log: the resource and type names, then the row
SELECT * FROM clinics_resource WHERE id = :resid LIMIT 21;
SELECT * FROM clinics_appointmenttype WHERE id = :tid LIMIT 21;
INSERT INTO bookings_webbookinglogentry (changed_at, status, clinic_id, resident_id, booking_id, previous_resource,
    previous_type, new_date, new_start, new_resource, new_type, channel, changed_by, is_late, late_fee_text)
  SELECT now(), 'booked', :cid, :rid, :bid, '', '', (s.start AT TIME ZONE 'Europe/Stockholm')::date,
         (s.start AT TIME ZONE 'Europe/Stockholm')::time, rs.name, t.internal_name, 'web', '', false, ''
  FROM schedules_slot s JOIN clinics_resource rs ON rs.id = s.resource_id
  JOIN clinics_appointmenttype t ON t.id = s.appointment_type_id WHERE s.id = :sid RETURNING id;
COMMIT;

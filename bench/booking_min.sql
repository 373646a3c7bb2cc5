-- pgbench script for `make bench`: the least a web booking must do, and nothing else: lock the
-- slot, insert the booking, mark the slot booked, write the web booking log row (R-LOG-1), on one
-- connection in one transaction. pg_min_booking_tps is what PostgreSQL on this machine allows for
-- that: the ceiling under Tidbok's own transaction (booking.sql, pg_booking_tps), and the headroom
-- one primary has. The INSERTs fill the same columns as booking.sql's (keep them in step). Each
-- transaction takes the next (resident, free slot) pair after those booking.sql took.
SELECT resident_id AS rid, slot_id AS sid FROM bench_pg_pairs WHERE n = (SELECT nextval('bench_pg_pair')) \gset
BEGIN;
SELECT clinic_id AS cid FROM schedules_slot WHERE id = :sid AND status = 'free' FOR UPDATE \gset
INSERT INTO bookings_booking (slot_id, resident_id, clinic_id, appointment_type_id, resource_id, start, "end",
    status, channel, created_by_id, proxy_unit, patient_phone, patient_reason, calendar_uid, calendar_sequence,
    referral_source, booking_referral, meeting_url, created_at)
  SELECT id, :rid, clinic_id, appointment_type_id, resource_id, start, "end", 'active', 'web', :rid, '', '', '',
         gen_random_uuid()::text || '@tidbok', 0, '', '', '', now()
  FROM schedules_slot WHERE id = :sid RETURNING id AS bid \gset
UPDATE schedules_slot SET status = 'booked', is_published = false, published_at = NULL WHERE id = :sid;
INSERT INTO bookings_webbookinglogentry (changed_at, status, clinic_id, resident_id, booking_id, previous_resource,
    previous_type, new_date, new_start, new_resource, new_type, channel, changed_by, is_late, late_fee_text)
  VALUES (now(), 'booked', :cid, :rid, :bid, '', '', current_date, localtime, '', '', 'web', '', false, '');
COMMIT;

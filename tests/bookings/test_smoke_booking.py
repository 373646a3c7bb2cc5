from bookings.models import BookingStatus, Channel, LogStatus, WebBookingLogEntry
from bookings.services import booking_create
from schedules.models import SlotStatus


def test_resident_books_a_free_time_and_it_leaves_the_web(resident, slot):
    booking = booking_create(resident=resident, slot_id=slot.pk)

    slot.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE
    assert booking.channel == Channel.WEB
    assert slot.status == SlotStatus.BOOKED
    assert slot.is_published is False
    log = WebBookingLogEntry.objects.get()
    assert log.status == LogStatus.BOOKED
    assert log.previous_date is None and log.new_resource == "Distriktssköterska"

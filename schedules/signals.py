"""What schedules tells the apps above it. schedules sits below bookings and does not import it, so
a freed time that the waitlist may claim is announced; bookings connects the receiver
(bookings/receivers.py)."""

from django.dispatch import Signal

# R-WAIT-2, R-WAIT-3: free times of types that offer the waitlist first are about to be published
# (keywords: slot_ids, now). A receiver that offers one to a waiting resident takes it out of the
# free state, so the publisher's conditional UPDATE leaves it off the web.
slots_freed_for_waitlist = Signal()

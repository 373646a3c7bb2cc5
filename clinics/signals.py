"""What clinics tells the apps above it. clinics sits below schedules and does not import it, so
a change here that schedules must act on is announced; schedules connects the receivers
(schedules/receivers.py). Sent inside the change's transaction: the receivers' writes commit or
roll back with it."""

from django.dispatch import Signal

# R-PUB-1: an appointment type's web name changed (keyword: appointment_type).
appointment_type_web_name_changed = Signal()

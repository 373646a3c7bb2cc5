"""Domain errors: one small family with stable codes.

Codes mirror the Swedish national scheduling contract (RIV-TA crm:scheduling) where one
exists, so clinic systems and the API speak the same language. Every error carries a
message fit to show a resident; views and the API map the code to a page or HTTP status.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    # A message: a plain string or a lazy translation (gettext_lazy).
    from django_stubs_ext import StrOrPromise


class ErrorCode(StrEnum):
    REQUESTED_TIME_IS_ALREADY_RESERVED = "REQUESTED_TIME_IS_ALREADY_RESERVED"
    REQUESTED_TIME_HAS_ALREADY_PASSED = "REQUESTED_TIME_HAS_ALREADY_PASSED"
    TOO_LATE_TO_MAKE_APPOINTMENT = "TOO_LATE_TO_MAKE_APPOINTMENT"
    USER_IS_ALREADY_OCCUPIED = "USER_IS_ALREADY_OCCUPIED"
    APPOINTMENT_IS_NOT_ALLOWED = "APPOINTMENT_IS_NOT_ALLOWED"
    BOOKING_BASIS_REQUIRED = "BOOKING_BASIS_REQUIRED"
    # The clinic lets a resident hold one active booking at a time (a BOOK case type option).
    ONE_BOOKING_AT_A_TIME = "ONE_BOOKING_AT_A_TIME"
    HOLD_EXPIRED = "HOLD_EXPIRED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    NOT_FOUND = "NOT_FOUND"
    INVALID_INPUT = "INVALID_INPUT"


DEFAULT_MESSAGES: dict[ErrorCode, StrOrPromise] = {
    ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED: _(
        "This time was just taken by someone else. Please choose another time."
    ),
    ErrorCode.REQUESTED_TIME_HAS_ALREADY_PASSED: _("This time has already passed."),
    ErrorCode.TOO_LATE_TO_MAKE_APPOINTMENT: _(
        "It is too late to change this booking on the web. Please call the clinic."
    ),
    ErrorCode.USER_IS_ALREADY_OCCUPIED: _("You already have a booked time that overlaps this one."),
    ErrorCode.APPOINTMENT_IS_NOT_ALLOWED: _("This action is not available for this appointment."),
    ErrorCode.BOOKING_BASIS_REQUIRED: _(
        "This appointment type needs a booking basis from the clinic before you can book it."
    ),
    ErrorCode.ONE_BOOKING_AT_A_TIME: _(
        "You already have a booked time at this clinic. Cancel or rebook it if you need another time."
    ),
    ErrorCode.HOLD_EXPIRED: _("Your reservation of this time has expired. Please choose a time again."),
    ErrorCode.PERMISSION_DENIED: _("You do not have permission to do this."),
    ErrorCode.NOT_FOUND: _("We could not find what you asked for."),
    ErrorCode.INVALID_INPUT: _("Some of the information is not valid."),
}


class DomainError(Exception):
    """A rule said no. Nothing was written."""

    def __init__(
        self,
        code: ErrorCode,
        message: StrOrPromise | None = None,
        *,
        field_errors: dict[str, list[StrOrPromise]] | None = None,
    ) -> None:
        self.code = code
        self.message = message if message is not None else DEFAULT_MESSAGES[code]
        self.field_errors = field_errors or {}
        super().__init__(f"{code}: {self.message}")


class BookingError(DomainError):
    """Booking, rebooking, cancelling and holding a time."""


class ValidationFailed(DomainError):
    """Input that breaks a rule on a field (R-TYPE-*, R-RES-1, R-AUTH-4)."""

    def __init__(self, field_errors: dict[str, list[StrOrPromise]]) -> None:
        super().__init__(ErrorCode.INVALID_INPUT, field_errors=field_errors)


class PermissionDeniedError(DomainError):
    """The actor has no membership or flag that allows this (R-ACL-1, R-ACL-2)."""

    def __init__(self, message: StrOrPromise | None = None) -> None:
        super().__init__(ErrorCode.PERMISSION_DENIED, message)

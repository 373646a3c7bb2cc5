"""An iCalendar (RFC 5545) file for one booking, so residents can put it in their calendar."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from .models import Booking


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Lines longer than 75 octets are folded with CRLF + space."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    parts, current = [], b""
    for char in line:
        piece = char.encode()
        if len(current) + len(piece) > 74:
            parts.append(current.decode())
            current = b""
        current += piece
    parts.append(current.decode())
    return "\r\n ".join(parts)


def booking_calendar(booking: Booking) -> str:
    stamp = "%Y%m%dT%H%M%SZ"
    clinic = booking.clinic
    address = ", ".join(part for part in (clinic.street_address, f"{clinic.postal_code} {clinic.town}".strip()) if part)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Tidbok//Tidbok//SV",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:booking-{booking.pk}@tidbok",
        f"DTSTAMP:{timezone.now().astimezone(dt.UTC):{stamp}}",
        f"DTSTART:{booking.start.astimezone(dt.UTC):{stamp}}",
        f"DTEND:{booking.end.astimezone(dt.UTC):{stamp}}",
        f"SUMMARY:{_escape(f'{booking.appointment_type.web_name} – {clinic.name}')}",
        f"LOCATION:{_escape(address)}",
        f"DESCRIPTION:{_escape(booking.appointment_type.web_info + chr(10) + booking.resource.name)}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"

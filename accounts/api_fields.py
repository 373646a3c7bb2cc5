"""Serializer fields of accounts' data for every app's API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.errors import ValidationFailed

from .personnummer import MESSAGE_EMPTY, MESSAGE_FORMAT, normalise_personnummer


class PersonnummerField(serializers.CharField):
    """A resident's personnummer in a request body, in any form people type (R-AUTH-4), as its
    12-digit form; refused with accounts.personnummer's message for what is wrong, which never
    repeats the number. Every API that takes a personnummer uses this field, so each mistake gets
    the same message everywhere, in the web forms too."""

    default_error_messages = {
        "required": MESSAGE_EMPTY,
        "null": MESSAGE_EMPTY,
        "blank": MESSAGE_EMPTY,
        # Not a string at all (a list, an object, true): say what is expected.
        "invalid": MESSAGE_FORMAT,
    }

    def __init__(self, **kwargs: Any) -> None:
        # The longest form people type (YYYYMMDD-NNNN with spaces) for the schema. Longer input is
        # not cut short by DRF's length check: it gets the message that says what is wrong with it.
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("help_text", "The resident, in any accepted form (R-AUTH-4)")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid")
        try:
            return normalise_personnummer(str(data))
        except ValidationFailed as exc:
            raise serializers.ValidationError([str(m) for m in exc.field_errors["personnummer"]]) from None

"""Request types for code that runs only after login.

``request.user`` is ``User | AnonymousUser`` on a plain request. A view behind
:func:`accounts.decorators.resident_required` or :func:`clinics.workspace.staff_required`, or an API view
whose permission classes refuse anonymous callers (``IsResident``, ``IsStaff``…), never sees the anonymous
user, so it annotates its request with one of these types and the type checker knows ``request.user``
is a :class:`accounts.models.User`. The types describe; they check nothing at run time.
"""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.request import Request

from .acting import Acting
from .models import User


class AuthenticatedHttpRequest(HttpRequest):
    """A page request from a logged-in user. For a resident, ``acting`` and ``patient`` say whom
    they act for on this request (:class:`accounts.middleware.ActingForMiddleware`)."""

    user: User
    acting: Acting
    patient: User


class AuthenticatedRequest(Request):
    """An API request from a logged-in user (the view's permission classes refused everyone else)."""

    user: User

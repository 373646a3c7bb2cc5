from django.http import HttpRequest

from accounts.acting import acting_options

from .acting import acting_unread_count


def resident_nav(request: HttpRequest) -> dict:
    """The unread count in the resident's navigation (one indexed count per page), and whom they
    act for with the "Boka för" choices (R-GUARD-2, R-POA-1)."""
    user = getattr(request, "user", None)
    acting = getattr(request, "acting", None)
    if user is None or not user.is_authenticated or not user.is_resident or acting is None:
        return {}
    return {
        "nav_unread": acting_unread_count(acting=acting),
        "acting": acting,
        "acting_options": acting_options(actor=user),
    }

from django.http import HttpRequest

from .selectors import inbox_unread_count


def resident_nav(request: HttpRequest) -> dict:
    """The unread count in the resident's navigation (one indexed count per page)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_resident:
        return {}
    return {"nav_unread": inbox_unread_count(resident=user)}

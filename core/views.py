"""Error pages in the site's layout, and problem details under /api/ even when no route matched.

400, 500 and 503 are rendered without context processors or the session (core.outage), so
they work when the database does not; 403 and 404 show the visitor's own navigation."""

import sys

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from .outage import is_api, is_database_unavailable, problem_response, render_standalone, unavailable_response


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return problem_response(400, "INVALID_INPUT", "Bad request", _("The request could not be understood."))
    return render_standalone(request, "400.html", 400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        detail = _("You do not have permission to do this.")
        return problem_response(403, "PERMISSION_DENIED", "Forbidden", detail)
    return render(request, "403.html", status=403)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return problem_response(404, "NOT_FOUND", "Not found", _("No such resource."))
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this while the exception is still being handled: a database that went away
    # outside a view (the session, the user, a context processor) is a 503 here as well.
    if is_database_unavailable(sys.exc_info()[1]):
        return unavailable_response(request)
    if is_api(request):
        detail = _("Something went wrong on our side. Try again later.")
        return problem_response(500, "SERVER_ERROR", "Internal server error", detail)
    return render_standalone(request, "500.html", 500)


def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers, and the benchmark's ceiling of the web stack: the whole middleware
    stack runs, the view itself does nothing."""
    return HttpResponse("ok", content_type="text/plain")

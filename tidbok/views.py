"""Error pages: the API answers with problem details even when no route matched."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        body = {
            "type": "https://tidbok.se/problem/not_found",
            "title": "Not found",
            "status": 404,
            "code": "NOT_FOUND",
            "detail": "No such resource.",
        }
        return JsonResponse(body, status=404, content_type="application/problem+json")
    return defaults.page_not_found(request, exception)


def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers, and the benchmark's ceiling of the web stack: the whole middleware
    stack runs, the view itself does nothing."""
    return HttpResponse("ok", content_type="text/plain")

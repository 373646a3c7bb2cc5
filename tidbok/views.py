from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from clinics.selectors import admitted_case_types, clinic_search


def home(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:100]
    viewer = request.user if request.user.is_authenticated else None
    clinics = [
        (clinic, admitted_case_types(clinic=clinic, resident=viewer)) for clinic in clinic_search(query=query)[:50]
    ]
    return render(request, "home.html", {"clinics": clinics, "query": query})

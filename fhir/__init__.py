"""FHIR R4 and the SMART Scheduling Links bulk publication: the top layer, above bookings.

It reads the lower apps through their selectors and is imported by nothing but the URL
configuration; the lower apps ask for a bulk refresh through the outbox, by name
(:data:`fhir.bulk.REFRESH_ASK`), never by importing this package."""

# The distribution fhir.resources (a test dependency validating our output) installs a plain
# package also named ``fhir``. Extending the path lets ``fhir.resources`` still be found beside
# this app wherever both are installed; without it this package would hide it.
from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)

from django.db import models
from django.utils.translation import gettext_lazy as _


class BulkPublishFile(models.Model):
    """One NDJSON file of the SMART Scheduling Links publication (``/fhir/r4/$bulk-publish``).

    Written by the ``bulk_publish_refresh`` task and served as stored, never built on a request.
    ``index`` holds one ``[resource id, lastUpdated, digest]`` per line, in line order, so that
    ``_since`` is answered without parsing the lines or reading slots, and a line whose content
    did not change keeps its lastUpdated from one refresh to the next; a Slot's entry also holds
    its start, so that a removal can be kept until then.

    ``deleted`` holds one ``[resource id, removed at, kept until]`` per resource that left the file
    (a tombstone): ``_since`` clients learn of removals from it, the FHIR Bulk Data way (the
    manifest's ``deleted`` files of DELETE bundles). A Slot's tombstone is kept until the slot's
    start, a Location's or Schedule's for ``TIDBOK_BULK_DELETED_DAYS``."""

    resource_type = models.CharField(max_length=20, unique=True)
    ndjson = models.TextField(blank=True)
    index = models.JSONField(default=list, blank=True)
    deleted = models.JSONField(default=list, blank=True)
    generated_at = models.DateTimeField()

    class Meta:
        # The table made by schedules 0003, kept when the model moved here.
        db_table = "schedules_bulkpublishfile"
        verbose_name = _("bulk publish file")
        verbose_name_plural = _("bulk publish files")

    def __str__(self) -> str:
        return f"{self.resource_type} ({self.generated_at:%Y-%m-%d %H:%M:%S})"

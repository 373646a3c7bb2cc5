from django.db import models
from django.utils.translation import gettext_lazy as _


class BulkPublishFile(models.Model):
    """One resource type's file of the SMART Scheduling Links publication (``/fhir/r4/$bulk-publish``).

    Written by the ``bulk_publish_refresh`` task and served as stored, never built on a request.
    The lines are kept in :class:`BulkPublishPart` rows of at most ``TIDBOK_BULK_PART_LINES`` lines
    each, which the manifest lists as separate outputs of the type (as FHIR Bulk Data allows): one
    value holding every Slot outgrew PostgreSQL's 1 GB limit for a field.

    ``deleted`` holds one ``[resource id, removed at, kept until]`` per resource that left the file
    (a tombstone): ``_since`` clients learn of removals from it, the FHIR Bulk Data way (the
    manifest's ``deleted`` files of DELETE bundles). A Slot's tombstone is kept until the slot's
    start, a Location's or Schedule's for ``TIDBOK_BULK_DELETED_DAYS``."""

    resource_type = models.CharField(max_length=20, unique=True)
    deleted = models.JSONField(default=list, blank=True)
    generated_at = models.DateTimeField()

    class Meta:
        # The table made by schedules 0003, kept when the model moved here.
        db_table = "schedules_bulkpublishfile"
        verbose_name = _("bulk publish file")
        verbose_name_plural = _("bulk publish files")

    def __str__(self) -> str:
        return f"{self.resource_type} ({self.generated_at:%Y-%m-%d %H:%M:%S})"


class BulkPublishPart(models.Model):
    """A run of consecutive lines of a :class:`BulkPublishFile`, numbered from 1 in line order.

    ``index`` holds one ``[resource id, lastUpdated, digest, start]`` per line, in line order, so
    that ``_since`` is answered without parsing the lines or reading slots, and a line whose content
    did not change keeps its lastUpdated from one refresh to the next; a Slot's entry also holds its
    start, so that a removal can be kept until then. A file always has part 1, empty or not."""

    file = models.ForeignKey(BulkPublishFile, on_delete=models.CASCADE, related_name="parts")
    number = models.PositiveIntegerField()
    ndjson = models.TextField(blank=True)
    index = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ("file", "number")
        constraints = [models.UniqueConstraint(fields=("file", "number"), name="fhir_bulk_part_unique_number")]
        verbose_name = _("bulk publish file part")
        verbose_name_plural = _("bulk publish file parts")

    def __str__(self) -> str:
        return f"{self.file.resource_type} {self.number}"

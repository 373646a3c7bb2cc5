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
    # The Slot file is brought up to date one part at a time, by a chain of short tasks (a walk,
    # see fhir.bulk): the walk's token, the first slot id of the part it does next, and when it
    # last did one (a walk that stops beating has lost its worker and is taken over).
    # ``walk_at`` is the instant the walk publishes the state of (its lines' lastUpdated, and
    # ``generated_at`` once it is done). ``numbered`` is the highest part number ever given, so
    # a new part never takes the URL of one a client may still be reading.
    walk = models.CharField(max_length=32, blank=True, default="")
    walk_at = models.DateTimeField(null=True, blank=True)
    walk_next = models.BigIntegerField(null=True, blank=True)
    walk_beat = models.DateTimeField(null=True, blank=True)
    numbered = models.PositiveIntegerField(default=0)

    class Meta:
        # The table made by schedules 0003, kept when the model moved here.
        db_table = "schedules_bulkpublishfile"
        verbose_name = _("bulk publish file")
        verbose_name_plural = _("bulk publish files")

    def __str__(self) -> str:
        return f"{self.resource_type} ({self.generated_at:%Y-%m-%d %H:%M:%S})"


class BulkPublishPart(models.Model):
    """A run of consecutive lines of a :class:`BulkPublishFile`, numbered from 1.

    A Location or Schedule file is rewritten whole, its parts numbered in line order. A Slot
    part holds the slots whose ids run from ``first_id`` up to the next part's ``first_id``, in
    id order, so a change to a slot touches its own part only and a refresh rewrites only the
    parts whose slots changed; its ``number`` is kept for as long as the part is (a new part gets
    a new number), so a URL never names other slots than the manifest said. ``refs`` lists the
    ``[resource id, type id]`` of the Schedules its lines name.

    ``index`` holds one ``[resource id, lastUpdated, digest, start, source]`` per line, in line order, so
    that ``_since`` is answered without parsing the lines or reading slots, and a line whose content
    did not change keeps its lastUpdated from one refresh to the next (a Slot line is compared
    with its old text instead, its digest left empty); a Slot's entry also holds its
    start, so that a removal can be kept until then, and a digest of the row it was built from, so
    that an unchanged slot's line is kept without being built again. A file always has part 1,
    empty or not (a Slot file's begins at id 0)."""

    file = models.ForeignKey(BulkPublishFile, on_delete=models.CASCADE, related_name="parts")
    number = models.PositiveIntegerField()
    # Both compressed with lz4 on PostgreSQL (migration 0005), not its default pglz: a refresh
    # during a booking rush rewrites nearly every part, and pglz made each write four times slower.
    ndjson = models.TextField(blank=True)
    index = models.JSONField(default=list, blank=True)
    first_id = models.BigIntegerField(default=0)
    refs = models.JSONField(default=list, blank=True)
    # A Slot part: a digest of the rows its lines were built from (see fhir.bulk_slots), so an
    # unchanged part is known as such from one aggregate query; empty when not known.
    fingerprint = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ("file", "first_id", "number")
        constraints = [models.UniqueConstraint(fields=("file", "number"), name="fhir_bulk_part_unique_number")]
        verbose_name = _("bulk publish file part")
        verbose_name_plural = _("bulk publish file parts")

    def __str__(self) -> str:
        return f"{self.file.resource_type} {self.number}"

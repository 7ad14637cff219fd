"""/api/v1/imports: upload a CRM export (CSV) with a mapping name; poll the job for its result."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from api.exceptions import PayloadTooLarge, Unprocessable
from api.imports import import_job_start
from api.models import ApiKey, ImportJob, ImportJobStatus
from api.pagination import NewestFirstCursorPagination
from api.serializers import StrictSerializer
from api.views.base import BodyLimitMixin
from deals.mapping import DEFAULT_MAPPING, MappingError, mapping_resolve
from deals.selectors import import_run_summary
from deals.services import ENCODINGS

IMPORT_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The import job's id.")


class ImportUploadSerializer(StrictSerializer):
    file = serializers.FileField(help_text="The CSV file (UTF-8, with or without BOM, or Latin-1).")
    mapping = serializers.CharField(
        required=False,
        allow_blank=True,
        default=DEFAULT_MAPPING,
        max_length=60,
        help_text="Mapping name: a preset (standard, salesforce, hubspot) or one of your saved mappings; "
        "absent or empty means `standard`.",
    )
    encoding = serializers.ChoiceField(
        choices=list(ENCODINGS), default="utf-8", help_text="The file's encoding."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # An empty encoding would silently fall back to the default; say so instead.
        if self.initial_data.get("encoding") == "":
            raise serializers.ValidationError({"encoding": ["Must not be empty."]})
        attrs["mapping"] = attrs.get("mapping") or DEFAULT_MAPPING
        return super().validate(attrs)


class ImportResultSerializer(serializers.Serializer):
    import_run_id = serializers.IntegerField(help_text="The import run (also in the import history).")
    status = serializers.CharField(help_text="succeeded, rejected or failed.")
    file_name = serializers.CharField(help_text="As uploaded.")
    file_sha256 = serializers.CharField(help_text="SHA-256 of the file.")
    mapping = serializers.CharField(help_text="The mapping used.")
    rows_read = serializers.IntegerField(help_text="Data rows read.")
    created = serializers.IntegerField(help_text="New deals.")
    updated = serializers.IntegerField(help_text="Known deals that changed.")
    unchanged = serializers.IntegerField(help_text="Known deals with no change.")
    rejected = serializers.IntegerField(help_text="Invalid rows (any rejects the whole file).")
    errors = serializers.ListField(
        child=serializers.DictField(),
        help_text="First 100 problems: {row, column, reason}; row 1 is the header.",
    )
    duration_ms = serializers.IntegerField(allow_null=True, help_text="How long the import took.")


class ImportJobSerializer(serializers.ModelSerializer):
    mapping = serializers.CharField(source="mapping_name", read_only=True, help_text="The mapping used.")
    result = serializers.SerializerMethodField(help_text="The import's outcome once it ran; null before.")

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "status",
            "file_name",
            "size_bytes",
            "mapping",
            "encoding",
            "created_at",
            "finished_at",
            "failure",
            "result",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": "The job's id: poll GET /imports/{id}."},
            "status": {"help_text": "queued, running, succeeded, rejected (nothing written) or failed."},
            "file_name": {"help_text": "As uploaded."},
            "size_bytes": {"help_text": "Upload size."},
            "encoding": {"help_text": "The file's encoding."},
            "created_at": {"help_text": "When it was uploaded."},
            "finished_at": {"help_text": "When it finished; null while queued or running."},
            "failure": {"help_text": "Why the job itself failed (blank otherwise)."},
        }

    @extend_schema_field(ImportResultSerializer(allow_null=True))
    def get_result(self, job: ImportJob) -> dict[str, Any] | None:
        return import_run_summary(import_run=job.import_run) if job.import_run_id else None


def _job_queryset(view: Any) -> Any:
    if getattr(view, "swagger_fake_view", False):
        return ImportJob.unscoped.none()
    return ImportJob.objects.select_related("import_run")


class ImportListView(BodyLimitMixin, GenericAPIView):
    serializer_class = ImportJobSerializer
    pagination_class = NewestFirstCursorPagination
    parser_classes = [MultiPartParser]
    filter_backends: list[Any] = []

    @property
    def max_body_bytes(self) -> int:  # type: ignore[override]
        # The file plus room for the form's other fields and boundaries.
        return settings.IMPORT_MAX_UPLOAD_BYTES + 64 * 1024

    def get_queryset(self) -> Any:
        return _job_queryset(self)

    @extend_schema(
        operation_id="imports_list",
        summary="List import jobs",
        description="Imports started through the API, newest first.",
        responses={200: ImportJobSerializer(many=True)},
        tags=["imports"],
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ImportJobSerializer(page, many=True).data)

    @extend_schema(
        operation_id="imports_create",
        summary="Import a CSV",
        description=(
            "Upload a CRM export with a mapping name (multipart/form-data). Small files (≤ 2 MB by "
            "default) are imported at once: 201 with the result. Larger ones are queued: 202, then "
            "poll `GET /imports/{id}`. All or nothing: a file with any invalid row is `rejected` with "
            "errors {row, column, reason} and changes nothing. Above the upload limit (200 MB by "
            "default): 413. An unknown mapping: 422."
        ),
        request={"multipart/form-data": ImportUploadSerializer},
        responses={201: ImportJobSerializer, 202: ImportJobSerializer},
        tags=["imports"],
    )
    def post(self, request: Request) -> Response:
        payload = ImportUploadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        size = payload.validated_data["file"].size or 0
        if size > settings.IMPORT_MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(
                f"The file is {size} bytes; at most {settings.IMPORT_MAX_UPLOAD_BYTES} are accepted."
            )
        mapping_name = payload.validated_data["mapping"]
        try:
            mapping_resolve(mapping_name)
        except MappingError as error:
            raise Unprocessable(errors={"mapping": error.problems}) from error
        job = import_job_start(
            upload=payload.validated_data["file"],
            mapping_name=mapping_name,
            encoding=payload.validated_data["encoding"],
            api_key=request.auth if isinstance(request.auth, ApiKey) else None,
            user=request.user,
        )
        queued = job.status == ImportJobStatus.QUEUED
        return Response(
            ImportJobSerializer(job).data,
            status=status.HTTP_202_ACCEPTED if queued else status.HTTP_201_CREATED,
        )


class ImportDetailView(BodyLimitMixin, GenericAPIView):
    serializer_class = ImportJobSerializer

    def get_queryset(self) -> Any:
        return _job_queryset(self)

    @extend_schema(
        operation_id="imports_retrieve",
        summary="Retrieve an import job",
        description="Its status and, once it ran, its result.",
        parameters=[IMPORT_ID],
        tags=["imports"],
    )
    def get(self, request: Request, pk: int) -> Response:
        job = self.get_queryset().filter(pk=pk).first()
        if job is None:
            raise Http404
        return Response(ImportJobSerializer(job).data)

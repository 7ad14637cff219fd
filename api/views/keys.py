"""API keys: tenant admins list, create (the key is shown once) and revoke them."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from api.models import ApiKey, ApiKeyScope
from api.permissions import IsTenantAdminSession, IsTenantMember
from api.services import api_key_create, api_key_revoke
from api.views.base import BodyLimitMixin


class ApiKeySerializer(serializers.ModelSerializer):
    prefix = serializers.CharField(
        source="key_prefix", read_only=True, help_text="The key's public part: keys read `si_<prefix>_…`."
    )
    revoked = serializers.BooleanField(source="is_revoked", read_only=True, help_text="Revoked keys get 401.")

    class Meta:
        model = ApiKey
        fields = ["prefix", "name", "scope", "created_at", "last_used_at", "revoked", "revoked_at"]
        read_only_fields = ["created_at", "last_used_at", "revoked_at"]
        extra_kwargs = {
            "scope": {"help_text": "`read`: GET only. `write`: also create, update, upsert and import."},
            "created_at": {"help_text": "When the key was created."},
            "last_used_at": {"help_text": "Last authenticated call (to the minute); null if never used."},
            "revoked_at": {"help_text": "When the key was revoked; null while active."},
        }


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text="What the key is for.")
    scope = serializers.ChoiceField(choices=ApiKeyScope.choices, default=ApiKeyScope.READ)


class CreatedApiKeySerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The full key. Shown this once; store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class ApiKeyListView(BodyLimitMixin, GenericAPIView):
    permission_classes = [IsTenantMember, IsTenantAdminSession]
    serializer_class = ApiKeySerializer
    pagination_class = None
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return ApiKey.unscoped.none()
        return ApiKey.objects.all()

    @extend_schema(
        operation_id="api_keys_list",
        summary="List API keys",
        responses={200: ApiKeySerializer(many=True)},
        description="All of the tenant's keys, newest first, revoked ones included. Tenant admins only, "
        "signed in through the browser (a key cannot list keys).",
        tags=["api-keys"],
    )
    def get(self, request: Request) -> Response:
        return Response(ApiKeySerializer(self.get_queryset(), many=True).data)

    @extend_schema(
        operation_id="api_keys_create",
        summary="Create an API key",
        description="Returns the full key once, in `key`; only its SHA-256 is stored.",
        request=ApiKeyCreateSerializer,
        responses={201: CreatedApiKeySerializer},
        tags=["api-keys"],
        examples=[
            OpenApiExample(
                "Write key", value={"name": "Salesforce sync", "scope": "write"}, request_only=True
            )
        ],
    )
    def post(self, request: Request) -> Response:
        payload = ApiKeyCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        created = api_key_create(
            name=payload.validated_data["name"],
            scope=payload.validated_data["scope"],
            created_by=request.user,
        )
        data = dict(ApiKeySerializer(created.api_key).data)
        data["key"] = created.plaintext
        return Response(data, status=status.HTTP_201_CREATED)


class ApiKeyDetailView(BodyLimitMixin, GenericAPIView):
    permission_classes = [IsTenantMember, IsTenantAdminSession]
    serializer_class = ApiKeySerializer
    filter_backends: list[Any] = []
    queryset = ApiKey.unscoped.none()  # for the schema only; delete() looks up in the tenant

    @extend_schema(
        operation_id="api_keys_revoke",
        summary="Revoke an API key",
        description="From now on the key gets 401. Idempotent; the key stays listed as revoked.",
        responses={200: ApiKeySerializer},
        parameters=[OpenApiParameter("prefix", str, OpenApiParameter.PATH, description="The key's prefix.")],
        tags=["api-keys"],
    )
    def delete(self, request: Request, prefix: str) -> Response:
        api_key = get_object_or_404(ApiKey.objects.all(), key_prefix=prefix)
        return Response(ApiKeySerializer(api_key_revoke(api_key=api_key)).data)

"""Tokens for residents' apps. A resident logs in with eID in the browser (the app opens the
login page), then asks for a token here with that session. A token expires after
TIDBOK_API_TOKEN_SECONDS (R-SEC-5); it is revoked by the app's logout (DELETE here, with the token
itself) or by the resident on the web (accounts.views.app_tokens)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import IsResident
from core.authentication import token_expires_at

from .services import app_token_issue, app_tokens_revoke


class AppToken(APIView):
    permission_classes = [IsResident]

    @extend_schema(
        request=None,
        responses={
            201: inline_serializer(
                "AppToken",
                {
                    "token": serializers.CharField(),
                    "expires": serializers.DateTimeField(help_text="After this the app must ask for a new token."),
                },
            )
        },
    )
    def post(self, request: Request) -> Response:
        token = app_token_issue(user=request.user)
        expires = serializers.DateTimeField().to_representation(token_expires_at(token))
        return Response({"token": token.key, "expires": expires}, status=status.HTTP_201_CREATED)

    @extend_schema(
        description="Log the app out: the token used for this request (and any other of the resident's) stops working.",
        responses={204: None},
    )
    def delete(self, request: Request) -> Response:
        app_tokens_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

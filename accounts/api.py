"""Tokens for residents' apps. A resident logs in with eID in the browser (the app opens the
login page), then asks for a token here with that session; the token is revoked on logout
from the app or by deleting it."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tidbok.api import IsResident


class AppToken(APIView):
    permission_classes = [IsResident]

    @extend_schema(request=None, responses={201: inline_serializer("AppToken", {"token": serializers.CharField()})})
    def post(self, request: Request) -> Response:
        token, _created = Token.objects.get_or_create(user=request.user)
        return Response({"token": token.key}, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def delete(self, request: Request) -> Response:
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

"""POST /v2/api/cameras/<id>/webrtc `{"sdp": <offer>}` -> `{"sdp": <answer>, "type": "answer"}`: the signalling of
the WebRTC live view (live/webrtc.py), with the REST API's token, scope (cameras:read, as the MSE feed) and errors.

A plain async view rather than a DRF one: the peer connection it makes lives on the server's event loop after the
response, which a sync view in a worker thread has not got. The rules are the API's own, in its order: a missing or
bad token is a 401, a token without cameras:read a 403, another tenant's camera a 404 (the gate finds no such
camera), a body that is not an offer a 400, each in the API's error shape (tenants.api.errors).

An answered offer is a `live.view` in the audit trail, and the end of its peer connection a `live.end`.
"""

import functools
import io

from asgiref.sync import sync_to_async
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework import exceptions, serializers, status

from cameras.models import Camera
from tenants import audit
from tenants.api.errors import exception_handler
from tenants.api.parsers import JSONParser
from tenants.auth import TenantJWTAuthentication
from tenants.catalogue import CAMERAS_READ
from tenants.gate import MissingScope, TenantPrincipal

from . import webrtc
from .consumers import end_view, start_view

MAX_OFFER_CHARS = 64 * 1024  # a browser's offer is a few kB; one video and one audio section with every codec ~10 kB


class OfferSerializer(serializers.Serializer):
    sdp = serializers.CharField(max_length=MAX_OFFER_CHARS, trim_whitespace=False)
    type = serializers.ChoiceField(["offer"], required=False)


class TooManyStreams(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "too_many_streams"


@sync_to_async
def _principal(request: HttpRequest) -> TenantPrincipal:
    found = TenantJWTAuthentication().authenticate(request)
    if found is None:
        raise exceptions.NotAuthenticated()
    return found[0].require(CAMERAS_READ)


async def _answer(request: HttpRequest, camera: str) -> dict:
    principal = await _principal(request)
    camera_pk = await Camera.objects.for_principal(principal).filter(slug=camera).values_list("pk", flat=True).afirst()
    if camera_pk is None:
        raise exceptions.NotFound()
    offer = OfferSerializer(data=JSONParser().parse(io.BytesIO(request.body)))
    offer.is_valid(raise_exception=True)
    try:
        peer = await webrtc.answer(camera_pk, offer.validated_data["sdp"], principal.expires_at)
    except webrtc.BadOffer as exc:
        raise exceptions.ValidationError({"sdp": [str(exc)]}) from exc
    except webrtc.TooManyPeers as exc:
        raise TooManyStreams(str(exc)) from exc
    viewing = await start_view(principal, camera, audit.address_of(request))
    peer.on_close = functools.partial(end_view, viewing)
    return {"sdp": peer.pc.localDescription.sdp, "type": "answer"}


def _error(request: HttpRequest, exc: exceptions.APIException | MissingScope) -> JsonResponse:
    response = exception_handler(exc, {})
    error = JsonResponse(response.data, status=response.status_code)
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        error["WWW-Authenticate"] = TenantJWTAuthentication().authenticate_header(request)
    return error


@csrf_exempt  # a token, not a cookie, authenticates it
@require_POST
async def camera_webrtc(request: HttpRequest, camera: str) -> JsonResponse:
    try:
        return JsonResponse(await _answer(request, camera))
    except (exceptions.APIException, MissingScope) as exc:
        return _error(request, exc)

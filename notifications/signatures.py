"""Twilio webhook signatures (X-Twilio-Signature) and TwiML replies, through the twilio library.

Inbound SMS and status callbacks are trusted only after is_valid_signature; fakes sign with sign()."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

__all__ = ["is_valid_signature", "sign", "twiml_message"]

Params = Mapping[str, str | list[str]]


class _FormParams(Mapping[str, str]):
    """Form fields as RequestValidator reads them: it calls getlist() for repeated fields.

    A plain dict of lists would reach it as one unhashable value per field.
    """

    def __init__(self, params: Params | None):
        self._lists = {
            str(name): [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
            for name, value in (params or {}).items()
        }

    def getlist(self, name: str) -> list[str]:
        return self._lists[name]

    def __getitem__(self, name: str) -> str:
        return self._lists[name][0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._lists)

    def __len__(self) -> int:
        return len(self._lists)


def _form(params: Params | None) -> object:
    # A werkzeug MultiDict (request.form) already has getlist: pass it through unchanged.
    return params if hasattr(params, "getlist") else _FormParams(params)


def is_valid_signature(url: str, params: Params, signature: str | None, auth_token: str) -> bool:
    """True when signature is Twilio's for this full URL (query included) and POST params.

    No signature, or no auth token to check it with, is never valid: an empty token would
    let anyone compute a "valid" signature.
    """
    if not signature or not auth_token:
        return False
    return bool(RequestValidator(auth_token).validate(url, _form(params), signature))


def sign(url: str, params: Params, auth_token: str) -> str:
    """The X-Twilio-Signature Twilio would send for this request."""
    signature: str = RequestValidator(auth_token).compute_signature(url, _form(params))  # twilio is untyped
    return signature


def twiml_message(text: str | None) -> str:
    """A TwiML answer to an inbound SMS: reply with text, or say nothing (empty <Response/>)."""
    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response)

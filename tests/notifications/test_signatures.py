"""Webhook signatures and TwiML through the twilio library."""

import base64
import hashlib
import hmac
import xml.etree.ElementTree as ET

import pytest

from notifications.signatures import is_valid_signature, sign, twiml_message

TOKEN = "12345-auth-token"
URL = "https://dispatch.example.kz/sms/inbound?site=almaty"
PARAMS = {
    "MessageSid": "SM" + "1" * 32,
    "AccountSid": "AC" + "2" * 32,
    "From": "+77012345678",
    "To": "+15005550006",
    "Body": "Иә 482, 20 минутта",
    "NumMedia": "0",
}


def independent_signature(url: str, params: dict, token: str) -> str:
    """Twilio's documented scheme: HMAC-SHA1 over the URL and the sorted name+value pairs."""
    data = url + "".join(
        name + value
        for name in sorted(params)
        for value in sorted(params[name] if isinstance(params[name], list) else [params[name]])
    )
    digest = hmac.new(token.encode(), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def test_sign_matches_twilios_documented_scheme():
    assert sign(URL, PARAMS, TOKEN) == independent_signature(URL, PARAMS, TOKEN)


def test_a_valid_signature_passes():
    assert is_valid_signature(URL, PARAMS, sign(URL, PARAMS, TOKEN), TOKEN)


@pytest.mark.parametrize("field", ["Body", "From", "MessageSid"])
def test_a_tampered_param_fails(field):
    signature = sign(URL, PARAMS, TOKEN)
    assert not is_valid_signature(URL, {**PARAMS, field: PARAMS[field] + "0"}, signature, TOKEN)


def test_an_added_param_fails():
    signature = sign(URL, PARAMS, TOKEN)
    assert not is_valid_signature(URL, {**PARAMS, "Extra": "1"}, signature, TOKEN)


@pytest.mark.parametrize(
    "other_url",
    [
        "https://dispatch.example.kz/sms/inbound?site=astana",
        "https://dispatch.example.kz/sms/status?site=almaty",
        "http://dispatch.example.kz/sms/inbound?site=almaty",
        "https://evil.example/sms/inbound?site=almaty",
    ],
)
def test_a_wrong_url_fails(other_url):
    assert not is_valid_signature(other_url, PARAMS, sign(URL, PARAMS, TOKEN), TOKEN)


def test_the_default_port_may_be_written_or_not():
    # Twilio signs what it requested; proxies sometimes add or drop :443 (library behaviour).
    signature = sign(URL, PARAMS, TOKEN)
    with_port = URL.replace("example.kz/", "example.kz:443/")
    assert is_valid_signature(with_port, PARAMS, signature, TOKEN)


@pytest.mark.parametrize("signature", [None, ""])
def test_a_missing_header_fails(signature):
    assert not is_valid_signature(URL, PARAMS, signature, TOKEN)


def test_a_wrong_token_or_no_token_fails():
    signature = sign(URL, PARAMS, TOKEN)
    assert not is_valid_signature(URL, PARAMS, signature, "another-token")
    empty_signed = sign(URL, PARAMS, "")  # anyone can compute this one
    assert not is_valid_signature(URL, PARAMS, empty_signed, "")


def test_repeated_fields_as_lists():
    params = {**PARAMS, "MediaUrl": ["https://m.example/2.jpg", "https://m.example/1.jpg"]}
    signature = sign(URL, params, TOKEN)
    assert signature == independent_signature(URL, params, TOKEN)
    assert is_valid_signature(URL, params, signature, TOKEN)
    assert not is_valid_signature(URL, {**params, "MediaUrl": ["https://m.example/1.jpg"]}, signature, TOKEN)


def test_empty_params_sign_the_url_alone():
    assert is_valid_signature(URL, {}, sign(URL, {}, TOKEN), TOKEN)


@pytest.mark.parametrize(
    "text",
    [
        "Рақмет! 482: сізді күтеміз.",
        'Thanks <b>& "welcome"</b>',
        "Спасибо, ждём вас!",
    ],
)
def test_twiml_message_is_xml_with_the_text(text):
    root = ET.fromstring(twiml_message(text))
    assert root.tag == "Response"
    [message] = list(root)
    assert message.tag == "Message"
    assert message.text == text


@pytest.mark.parametrize("text", [None, ""])
def test_twiml_without_text_is_an_empty_response(text):
    xml = twiml_message(text)
    root = ET.fromstring(xml)
    assert root.tag == "Response" and list(root) == []
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')

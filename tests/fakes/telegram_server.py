"""A loopback HTTP server that answers the Telegram Bot API, for Telegram channel tests.

Point the real client at it (notifications.telegram.TelegramBotApi(token, base_url=
fake.base_url)) and nothing leaves 127.0.0.1. It answers POST (or GET) /bot<token>/<method>
for sendMessage, editMessageText, editMessageReplyMarkup, sendLocation, sendVenue,
answerCallbackQuery, setWebhook, deleteWebhook, getWebhookInfo and getMe, with Telegram's
envelope ({"ok": true, "result": ...} or {"ok": false, "error_code", "description",
"parameters"}) and Telegram's wording for the errors that matter: 401 for a wrong token,
400 "chat not found", "message is not modified", "message to edit not found", "query is too
old ...", 403 "bot was blocked by the user", 429 with parameters.retry_after.

A chat exists once its user has written to the bot (any update built for it) or add_chat();
sending to any other chat is 400 "chat not found", as for a user who never pressed Start.

Scripting, thread-safe and consumed in order:
    fake.fail_next(429, retry_after=7)        # next call: 429, parameters.retry_after = 7
    fake.fail_next(500, times=2)              # two 500s; method="sendMessage" to aim
    fake.delay_next(2.0)                      # next call IS acted on, answered 2 s late
    update = fake.block(chat_id)              # 403 from now on; the my_chat_member update
    fake.deactivate(chat_id)                  # 403 "user is deactivated"
    fake.down("502"); ...; fake.up()          # outage: nginx's HTML 502, or "close"

Records: calls (every request), messages(chat_id) (what the chat shows, with buttons and
edits), callback_answers, webhook, connections (TCP connections accepted).
Updates for a webhook: message_update, start_update, contact_update, callback_update,
press(chat_id, "ДА · 15 мин") (a press on a button the chat shows), chat_member_update;
webhook_headers() carries the secret given to setWebhook; deliver() posts one to it.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

DEFAULT_TOKEN = "7000000001:FAKE-telegram-bot-token_0123456789"
DEFAULT_BOT_USERNAME = "dispatch_test_bot"
MAX_TEXT_CHARS = 4096
MAX_CALLBACK_DATA_BYTES = 64
_PATH = re.compile(r"^/bot(?P<token>[^/]*)/(?P<method>[A-Za-z]+)$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_UNSET: Any = object()

DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply "
    "markup are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center>"
    b"<h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


class BotApiError(Exception):
    """Raised inside the fake's method handlers; becomes Telegram's error envelope."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


@dataclass
class RecordedCall:
    method: str
    http_method: str
    path: str
    params: dict[str, Any]
    authorized: bool
    status: int | None = None  # None when the fake hung up without answering
    at: float = field(default_factory=time.monotonic)


@dataclass
class FakeMessage:
    """A message as the chat shows it now; edits keeps each earlier version."""

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    text: str | None = None
    reply_markup: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    venue: dict[str, Any] | None = None
    link_preview_disabled: bool = False
    parse_mode: str | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def buttons(self) -> list[list[dict[str, Any]]]:
        """The inline keyboard's rows ([] when there are no inline buttons)."""
        markup = self.reply_markup or {}
        return copy.deepcopy(markup.get("inline_keyboard") or [])

    @property
    def button_texts(self) -> list[str]:
        return [button["text"] for row in self.buttons for button in row]

    @property
    def callback_data(self) -> list[str]:
        return [b["callback_data"] for row in self.buttons for b in row if "callback_data" in b]


@dataclass
class CallbackAnswer:
    callback_query_id: str
    text: str | None
    show_alert: bool


@dataclass
class _Failure:
    status: int
    description: str | None
    retry_after: int | None
    method: str | None


@dataclass
class _Chat:
    chat_id: int
    first_name: str
    blocked: str | None = None  # the 403 description while blocked


class FakeTelegram:
    """The Bot API on 127.0.0.1 (a random port), in a daemon thread; HTTP/1.1 keep-alive."""

    def __init__(self, token: str = DEFAULT_TOKEN, username: str = DEFAULT_BOT_USERNAME) -> None:
        self.token = token
        self.username = username
        self.bot_id = int(token.split(":", 1)[0])
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._calls: list[RecordedCall] = []
        self._chats: dict[int, _Chat] = {}
        self._messages: dict[int, list[FakeMessage]] = {}
        self._next_message_id: dict[int, int] = {}
        self._open_queries: dict[str, tuple[int, int | None]] = {}
        self._answers: list[CallbackAnswer] = []
        self._failures: deque[_Failure] = deque()
        self._delays_s: deque[float] = deque()
        self._down_mode: str | None = None
        self._webhook: dict[str, Any] = {}
        self._webhook_error: tuple[int, str] | None = None
        self._update_ids = itertools.count(800_000_001)
        self._server: ThreadingHTTPServer | None = None
        self.connections = 0  # TCP connections accepted so far

    # --- scripting -------------------------------------------------------------------

    def fail_next(
        self,
        status: int = 429,
        *,
        retry_after: int | None = None,
        description: str | None = None,
        times: int = 1,
        method: str | None = None,
    ) -> None:
        """Answer the next `times` calls (of `method`, or any) with this error; nothing done.

        429 carries parameters.retry_after (default 3); description defaults to Telegram's."""
        if status == 429 and retry_after is None:
            retry_after = 3
        with self._lock:
            self._failures.extend(_Failure(status, description, retry_after, method) for _ in range(times))

    def delay_next(self, seconds: float, *, times: int = 1) -> None:
        """Carry out the next call(s) as usual but answer `seconds` late (client timeouts)."""
        with self._lock:
            self._delays_s.extend([seconds] * times)

    def add_chat(self, chat_id: int, first_name: str = "Volunteer") -> None:
        """A private chat whose user has pressed Start, so the bot may write to it."""
        with self._lock:
            self._chat(chat_id, first_name)

    def block(self, chat_id: int) -> dict[str, Any]:
        """The user blocks the bot: sends to the chat get 403 from now on. Returns the
        my_chat_member update Telegram posts about it."""
        with self._lock:
            self._chat(chat_id).blocked = "Forbidden: bot was blocked by the user"
        return self.chat_member_update(chat_id, old_status="member", new_status="kicked")

    def unblock(self, chat_id: int) -> dict[str, Any]:
        with self._lock:
            self._chat(chat_id).blocked = None
        return self.chat_member_update(chat_id, old_status="kicked", new_status="member")

    def deactivate(self, chat_id: int) -> None:
        """The user deleted their account: 403 "user is deactivated"."""
        with self._lock:
            self._chat(chat_id).blocked = "Forbidden: user is deactivated"

    def down(self, mode: str = "502") -> None:
        """Outage until up(): "502" answers nginx's HTML page (no Bot API JSON); "close" reads
        the request and hangs up without a word."""
        if mode not in ("502", "close"):
            raise ValueError("mode is '502' or 'close'")
        with self._lock:
            self._down_mode = mode

    def up(self) -> None:
        with self._lock:
            self._down_mode = None

    # --- records ---------------------------------------------------------------------

    @property
    def calls(self) -> list[RecordedCall]:
        """Every request received, in arrival order (a copy)."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [call for call in self.calls if call.method == method]

    def messages(self, chat_id: int) -> list[FakeMessage]:
        """What the chat shows, oldest first: the bot's messages and the user's (copies)."""
        with self._lock:
            return copy.deepcopy(self._messages.get(chat_id, []))

    def bot_messages(self, chat_id: int) -> list[FakeMessage]:
        return [m for m in self.messages(chat_id) if m.from_bot]

    def message(self, chat_id: int, message_id: int) -> FakeMessage:
        found = [m for m in self.messages(chat_id) if m.message_id == message_id]
        if not found:
            raise KeyError((chat_id, message_id))
        return found[0]

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        with self._lock:
            return list(self._answers)

    @property
    def webhook(self) -> dict[str, Any]:
        """The last setWebhook's parameters ({} when none is set)."""
        with self._lock:
            return dict(self._webhook)

    def wait_for_calls(self, count: int, timeout_s: float = 5.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self._calls) >= count, timeout_s)

    # --- updates, as Telegram posts them to the webhook --------------------------------

    def _user(self, user_id: int, first_name: str, language_code: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        return user

    def _incoming(self, chat_id: int, from_id: int | None, language_code: str | None, **content: Any) -> dict[str, Any]:
        with self._lock:
            chat = self._chat(chat_id)
            message_id = self._new_message_id(chat_id)
            date = int(time.time())
            self._messages[chat_id].append(FakeMessage(chat_id, message_id, date, False, text=content.get("text")))
            sender = self._user(chat_id if from_id is None else from_id, chat.first_name, language_code)
            message = {
                "message_id": message_id,
                "from": sender,
                "chat": {"id": chat_id, "first_name": chat.first_name, "type": "private"},
                "date": date,
                **content,
            }
            return {"update_id": next(self._update_ids), "message": message}

    def message_update(
        self, chat_id: int, text: str, *, from_id: int | None = None, language_code: str | None = "ru"
    ) -> dict[str, Any]:
        """The user writes text to the bot (in a private chat, user id == chat id)."""
        return self._incoming(chat_id, from_id, language_code, text=text)

    def start_update(self, chat_id: int, code: str, **kwargs: Any) -> dict[str, Any]:
        """The user opened t.me/<bot>?start=<code> and pressed Start."""
        update = self.message_update(chat_id, f"/start {code}", **kwargs)
        update["message"]["entities"] = [{"offset": 0, "length": 6, "type": "bot_command"}]
        return update

    def contact_update(
        self,
        chat_id: int,
        phone_number: str,
        *,
        contact_user_id: int | None = _UNSET,
        from_id: int | None = None,
        language_code: str | None = "ru",
    ) -> dict[str, Any]:
        """The user shares a contact. By default their own (contact.user_id == from.id); pass
        contact_user_id=<other> for someone else's card, None for a number typed by hand."""
        sender = chat_id if from_id is None else from_id
        contact: dict[str, Any] = {"phone_number": phone_number, "first_name": "Volunteer"}
        owner = sender if contact_user_id is _UNSET else contact_user_id
        if owner is not None:
            contact["user_id"] = owner
        return self._incoming(chat_id, from_id, language_code, contact=contact)

    def callback_update(
        self, chat_id: int, message_id: int, data: str, *, from_id: int | None = None, language_code: str | None = "ru"
    ) -> dict[str, Any]:
        """A press on a button of message_id carrying data (whether or not it is shown)."""
        query_id = str(secrets.randbelow(10**19 - 10**18) + 10**18)
        with self._lock:
            chat = self._chat(chat_id)
            shown = next((m for m in self._messages[chat_id] if m.message_id == message_id), None)
            message = (
                self._message_json(shown)
                if shown is not None
                else {"message_id": message_id, "date": 0, "chat": {"id": chat_id, "type": "private"}}
            )
            sender = chat_id if from_id is None else from_id
            self._open_queries[query_id] = (chat_id, message_id)
            query = {
                "id": query_id,
                "from": self._user(sender, chat.first_name, language_code),
                "message": message,
                "chat_instance": str(-chat_id * 7 % 10**18),
                "data": data,
            }
            return {"update_id": next(self._update_ids), "callback_query": query}

    def press(self, chat_id: int, button: str, *, message_id: int | None = None, **kwargs: Any) -> dict[str, Any]:
        """A press on the button with this text (or callback data) on the newest message of
        the chat that shows it; LookupError when none shows it (e.g. the buttons were removed)."""
        for message in reversed(self.bot_messages(chat_id)):
            if message_id is not None and message.message_id != message_id:
                continue
            for row in message.buttons:
                for candidate in row:
                    if button in (candidate["text"], candidate.get("callback_data")):
                        return self.callback_update(chat_id, message.message_id, candidate["callback_data"], **kwargs)
        raise LookupError(f"chat {chat_id} shows no button {button!r}")

    def chat_member_update(
        self, chat_id: int, *, old_status: str = "member", new_status: str = "kicked"
    ) -> dict[str, Any]:
        with self._lock:
            chat = self._chat(chat_id)
            bot = {"id": self.bot_id, "is_bot": True, "first_name": "Dispatch", "username": self.username}
            change = {
                "chat": {"id": chat_id, "first_name": chat.first_name, "type": "private"},
                "from": self._user(chat_id, chat.first_name, None),
                "date": int(time.time()),
                "old_chat_member": {"user": bot, "status": old_status},
                "new_chat_member": {"user": bot, "status": new_status},
            }
            return {"update_id": next(self._update_ids), "my_chat_member": change}

    def webhook_headers(self) -> dict[str, str]:
        """The headers Telegram sends with each update: the setWebhook secret_token."""
        headers = {"Content-Type": "application/json"}
        secret = self.webhook.get("secret_token")
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        return headers

    def deliver(self, update: dict[str, Any], url: str | None = None, timeout_s: float = 10.0) -> requests.Response:
        """POST an update to the webhook (the one set, or url) as Telegram does; a non-2xx
        answer shows up in getWebhookInfo's last_error_message."""
        target = url or self.webhook.get("url")
        if not target:
            raise RuntimeError("no webhook is set")
        response = requests.post(
            target, data=json.dumps(update).encode("utf-8"), headers=self.webhook_headers(), timeout=timeout_s
        )
        with self._lock:
            if not 200 <= response.status_code < 300:
                problem = f"Wrong response from the webhook: {response.status_code} {response.reason}"
                self._webhook_error = (int(time.time()), problem)
        return response

    # --- lifecycle ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """e.g. http://127.0.0.1:54321 — what TelegramBotApi(base_url=...) takes."""
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeTelegram:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def setup(self) -> None:
                super().setup()
                with fake._lock:
                    fake.connections += 1

            def do_POST(self) -> None:
                fake._handle(self)

            do_GET = do_PUT = do_DELETE = do_POST

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="fake-telegram", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- request handling (in the server's threads) -------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        match = _PATH.match(url.path)
        params = self._params(raw, handler.headers.get("Content-Type") or "", url.query)
        authorized = match is not None and secrets.compare_digest(match["token"].encode(), self.token.encode())
        record = RecordedCall(
            method=match["method"] if match else "",
            http_method=handler.command,
            path=url.path.replace(self.token, "<token>"),
            params=params if isinstance(params, dict) else {},
            authorized=authorized,
        )
        delay_s = 0.0
        with self._changed:
            self._calls.append(record)
            self._changed.notify_all()
            down = self._down_mode
            if down is None and authorized and self._delays_s:
                delay_s = self._delays_s.popleft()
        if down == "close":
            handler.close_connection = True
            return
        if down == "502":
            record.status = 502
            self._send(handler, 502, _NGINX_502, "text/html")
            return
        if match is None:
            status, body = self._error(BotApiError(404, "Not Found"))
        elif not authorized:
            status, body = self._error(BotApiError(401, "Unauthorized"))
        elif params is None:
            status, body = self._error(BotApiError(400, "Bad Request: can't parse JSON object"))
        else:
            try:
                status, body = 200, {"ok": True, "result": self._dispatch(match["method"], params)}
            except BotApiError as exc:
                status, body = self._error(exc)
        record.status = status
        if delay_s:
            self._stopping.wait(delay_s)
        self._send(handler, status, json.dumps(body).encode("utf-8"), "application/json")

    @staticmethod
    def _params(raw: bytes, content_type: str, query: str) -> dict[str, Any] | None:
        """JSON body, or form/query fields (whose object values are JSON-serialized)."""
        if "application/json" in content_type:
            try:
                params = json.loads(raw or b"{}")
            except ValueError:
                return None
            return params if isinstance(params, dict) else None
        fields = parse_qs(query, keep_blank_values=True)
        fields.update(parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True))
        params = {}
        for name, values in fields.items():
            value: Any = values[-1]
            if value.startswith(("{", "[")) or value in ("true", "false"):
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            elif re.fullmatch(r"-?[0-9]+", value):
                value = int(value)
            params[name] = value
        return params

    def _error(self, exc: BotApiError) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
        if exc.parameters:
            body["parameters"] = exc.parameters
        return exc.code, body

    def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            raise BotApiError(404, "Not Found")
        with self._changed:
            for i, failure in enumerate(self._failures):
                if failure.method in (None, method):
                    del self._failures[i]
                    description = failure.description or DESCRIPTIONS.get(failure.status, "Error").format(
                        retry_after=failure.retry_after
                    )
                    parameters = {"retry_after": failure.retry_after} if failure.retry_after is not None else None
                    raise BotApiError(failure.status, description, parameters)
            result = handler(params)
            self._changed.notify_all()
            return result

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, data: bytes, content_type: str) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass

    # --- helpers (called with the lock held) ---------------------------------------------

    def _chat(self, chat_id: int, first_name: str = "Volunteer") -> _Chat:
        if chat_id not in self._chats:
            self._chats[chat_id] = _Chat(chat_id, first_name)
            self._messages[chat_id] = []
            self._next_message_id[chat_id] = 1
        return self._chats[chat_id]

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id[chat_id]
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _bot_json(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Dispatch", "username": self.username}

    def _message_json(self, message: FakeMessage) -> dict[str, Any]:
        chat = self._chats[message.chat_id]
        result: dict[str, Any] = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": {"id": message.chat_id, "first_name": chat.first_name, "type": "private"},
        }
        if message.from_bot:
            result["from"] = self._bot_json()
        if message.edits:
            result["edit_date"] = int(time.time())
        for name in ("text", "location", "venue"):
            if getattr(message, name) is not None:
                result[name] = copy.deepcopy(getattr(message, name))
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            result["reply_markup"] = copy.deepcopy(message.reply_markup)
        return result

    def _target_chat(self, params: dict[str, Any]) -> _Chat:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, str) and re.fullmatch(r"-?[0-9]+", chat_id):
            chat_id = int(chat_id)
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise BotApiError(400, "Bad Request: chat not found")
        chat = self._chats.get(chat_id)
        if chat is None:
            raise BotApiError(400, "Bad Request: chat not found")
        if chat.blocked:
            raise BotApiError(403, chat.blocked)
        return chat

    @staticmethod
    def _text(params: dict[str, Any], name: str = "text") -> str:
        text = params.get(name)
        if not isinstance(text, str) or not text.strip():
            raise BotApiError(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > MAX_TEXT_CHARS:
            raise BotApiError(400, "Bad Request: message is too long")
        return text

    @staticmethod
    def _markup(params: dict[str, Any], *, inline_only: bool) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise BotApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            if inline_only or not ({"keyboard", "remove_keyboard"} & set(markup)):
                raise BotApiError(400, "Bad Request: inline keyboard expected")
            return copy.deepcopy(markup)
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise BotApiError(400, 'Bad Request: field "inline_keyboard" must be an Array')
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise BotApiError(400, "Bad Request: can't parse inline keyboard button")
                data = button.get("callback_data")
                if data is None and "url" not in button:
                    raise BotApiError(
                        400,
                        "Bad Request: can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard",
                    )
                if data is not None and (
                    not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                ):
                    raise BotApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return copy.deepcopy(markup) if any(rows) else None

    def _post(self, chat: _Chat, **fields: Any) -> dict[str, Any]:
        message = FakeMessage(chat.chat_id, self._new_message_id(chat.chat_id), int(time.time()), True, **fields)
        self._messages[chat.chat_id].append(message)
        return self._message_json(message)

    def _find(self, params: dict[str, Any]) -> FakeMessage:
        chat = self._target_chat(params)
        message_id = params.get("message_id")
        for message in self._messages[chat.chat_id]:
            if message.message_id == message_id and message.from_bot:
                return message
        raise BotApiError(400, "Bad Request: message to edit not found")

    @staticmethod
    def _point(params: dict[str, Any]) -> tuple[float, float]:
        lat, lon = params.get("latitude"), params.get("longitude")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lat, lon)):
            raise BotApiError(400, "Bad Request: wrong coordinates")
        assert isinstance(lat, (int, float)) and isinstance(lon, (int, float))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise BotApiError(400, "Bad Request: wrong coordinates")
        return float(lat), float(lon)

    # --- the methods -------------------------------------------------------------------

    def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self._bot_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        text = self._text(params)
        markup = self._markup(params, inline_only=False)
        preview = params.get("link_preview_options") or {}
        disabled = (isinstance(preview, dict) and preview.get("is_disabled") is True) or params.get(
            "disable_web_page_preview"
        ) is True
        return self._post(
            chat, text=text, reply_markup=markup, link_preview_disabled=disabled, parse_mode=params.get("parse_mode")
        )

    def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._find(params)
        text = self._text(params)
        markup = self._markup(params, inline_only=True)
        if message.text is None:
            raise BotApiError(400, "Bad Request: there is no text in the message to edit")
        current = message.reply_markup if message.reply_markup and "inline_keyboard" in message.reply_markup else None
        if text == message.text and markup == current:
            raise BotApiError(400, NOT_MODIFIED)
        message.edits.append({"text": message.text, "reply_markup": message.reply_markup})
        message.text, message.reply_markup = text, markup
        return self._message_json(message)

    def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._find(params)
        markup = self._markup(params, inline_only=True)
        current = message.reply_markup if message.reply_markup and "inline_keyboard" in message.reply_markup else None
        if markup == current:
            raise BotApiError(400, NOT_MODIFIED)
        message.edits.append({"text": message.text, "reply_markup": message.reply_markup})
        message.reply_markup = markup
        return self._message_json(message)

    def _api_sendLocation(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        lat, lon = self._point(params)
        location: dict[str, Any] = {"latitude": lat, "longitude": lon}
        accuracy = params.get("horizontal_accuracy")
        if accuracy is not None:
            if not isinstance(accuracy, (int, float)) or not 0 <= accuracy <= 1500:
                raise BotApiError(400, "Bad Request: wrong horizontal accuracy specified")
            location["horizontal_accuracy"] = float(accuracy)
        return self._post(chat, location=location)

    def _api_sendVenue(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        lat, lon = self._point(params)
        title, address = params.get("title"), params.get("address")
        if not isinstance(title, str) or not title or not isinstance(address, str):
            raise BotApiError(400, "Bad Request: venue title and address are required")
        location = {"latitude": lat, "longitude": lon}
        return self._post(chat, location=location, venue={"location": location, "title": title, "address": address})

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        query_id = params.get("callback_query_id")
        if not isinstance(query_id, str) or query_id not in self._open_queries:
            raise BotApiError(400, QUERY_TOO_OLD)
        del self._open_queries[query_id]  # a query is answered once
        text = params.get("text")
        if text is not None and (not isinstance(text, str) or len(text) > 200):
            raise BotApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._answers.append(CallbackAnswer(query_id, text, params.get("show_alert") is True))
        return True

    def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        url = params.get("url")
        if not isinstance(url, str):
            raise BotApiError(400, "Bad Request: bad webhook: URL must be provided")
        if url == "":
            self._webhook = {}
            return True
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise BotApiError(400, "Bad Request: bad webhook: invalid URL")
        secret = params.get("secret_token")
        if secret is not None and (not isinstance(secret, str) or not _SECRET.match(secret)):
            raise BotApiError(400, "Bad Request: secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if allowed is not None and (not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed)):
            raise BotApiError(400, "Bad Request: can't parse allowed updates")
        self._webhook = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": allowed,
            "drop_pending_updates": params.get("drop_pending_updates") is True,
            "max_connections": params.get("max_connections") or 40,
        }
        self._webhook_error = None
        return True

    def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self._webhook = {}
        return True

    def _api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        if not self._webhook:
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        info: dict[str, Any] = {
            "url": self._webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": 0,
            "ip_address": "127.0.0.1",
            "max_connections": self._webhook["max_connections"],
        }
        if self._webhook["allowed_updates"] is not None:
            info["allowed_updates"] = list(self._webhook["allowed_updates"])
        if self._webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info


@pytest.fixture
def fake_telegram():
    """A started FakeTelegram, stopped after the test."""
    with FakeTelegram() as server:
        yield server

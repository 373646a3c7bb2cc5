"""Real servers the notification tests start in their own process: an SMTP server (aiosmtpd) that
keeps what it receives, and an HTTP server standing in for an SMS gateway."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


class _Keep:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


class SmtpServer:
    def __init__(self) -> None:
        self.handler = _Keep()
        # aiosmtpd connects to its own port to check it is up, so the port is picked first.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self._port = probe.getsockname()[1]
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self._port)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    @property
    def port(self) -> int:
        return self._port

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages

    def stop(self) -> None:
        self.controller.stop()


class GatewayServer:
    """An SMS gateway: records each POST; ``answer`` decides the status (or sleeps to time out)."""

    def __init__(self, answer: Callable[[dict[str, Any]], int] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answer = answer or (lambda request: 200)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    fields = json.loads(raw)
                else:
                    fields = {key: values[0] for key, values in urllib.parse.parse_qs(raw.decode()).items()}
                request = {"fields": fields, "headers": dict(self.headers), "path": self.path}
                outer.requests.append(request)
                status = outer.answer(request)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status": "ok"}' if status < 300 else b'{"error": "busy"}')

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> GatewayServer:
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/sms"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def hang(seconds: float) -> Callable[[dict[str, Any]], int]:
    def answer(request: dict[str, Any]) -> int:
        time.sleep(seconds)
        return 200

    return answer

"""Security headers on every response: no sniffing, no framing, no caching of practice data, HSTS over TLS.

The server is not announced: the app sends no ``Server`` header, and services run uvicorn with
``--no-server-header`` (``cli/stack.py``, the Dockerfile).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CSP = "default-src 'none'; frame-ancestors 'none'"
# The interactive docs load Swagger UI's script and style from its CDN; they still may not be framed.
DOCS_CSP = "frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"
# For answers written outside this middleware (an unhandled error is answered by the outermost one).
BASELINE = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Content-Security-Policy": API_CSP,
            "Cache-Control": "no-store"}


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        tls = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers.setdefault("Content-Security-Policy", DOCS_CSP if path.startswith("/docs") else API_CSP)
                headers.setdefault("Referrer-Policy", "no-referrer")
                if path.startswith("/v1/"):
                    headers["Cache-Control"] = "no-store"
                if tls:
                    headers["Strict-Transport-Security"] = HSTS
                if "server" in headers:
                    del headers["server"]
            await send(message)

        await self.app(scope, receive, send_with_headers)

"""Complaints through the generic webhook: a body in its documented shape, posted signed with the test secret."""

from __future__ import annotations

import json
from typing import Any

import httpx

from connectors import signing
from tests.support.env import WEBHOOK_SECRET


def webhook_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "platform": "twitter",
        "id": "1790000000000000001",
        "author": {"id": "42", "handle": "jane_doe", "name": "Jane Doe"},
        "text": "@acme my refund is three weeks late and nobody answers. Unacceptable.",
        "url": "https://x.com/jane_doe/status/1790000000000000001",
        "created_at": "2026-11-22T10:00:00Z",
    }
    body.update(overrides)
    return body


def post_webhook(
    base_url: str, payload: Any, *, secret: str = WEBHOOK_SECRET, raw: bytes | None = None, signature: str | None = None
) -> httpx.Response:
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"content-type": "application/json"}
    sig = signature if signature is not None else signing.sign(secret, body)
    if sig:
        headers["x-care-signature"] = sig
    return httpx.post(f"{base_url}/webhooks/generic", content=body, headers=headers, timeout=10)

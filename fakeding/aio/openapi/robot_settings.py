"""Routes that configure a robot rather than talk through it: the off-duty prompt (an inner API
the Python SDK's ``ChatbotHandler.set_off_duty_prompt`` calls, undocumented) and the
registration of HTTP card-callback routes (``POST /v1.0/card/callbacks/register``).

What they set lives on the ``App`` (it survives resets, like the app) and shows in the control
API's ``GET /_fakeding/apps``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fakeding.core import jsonsafe
from fakeding.core.callbacks import loopback_url
from fakeding.core.cards import Card
from fakeding.core.exceptions import ConfigError, OpenApiError
from fakeding.core.jsonsafe import echo
from fakeding.core.platform import App, Platform

OFF_DUTY_PATH = "/v1.0/innerApi/robot/stream/away/template/update"
CARD_CALLBACK_REGISTER_PATH = "/v1.0/card/callbacks/register"
Result = tuple[dict[str, Any], Card | None, str | None]


def _obj(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise OpenApiError(400, "param.error", f"body must be a JSON object, found {type(body).__name__}")
    return body


def off_duty_prompt(platform: Platform, app: App, body: Any, t: float) -> Result:
    body = _obj(body)
    if body.get("robotCode") != app.robot_code:
        raise OpenApiError(
            400,
            "invalidParameter.robotCode.invalid",
            f"robotCode: expected this app's robotCode {app.robot_code!r}, "
            f"found {echo(body.get('robotCode'))}",
        )
    template = body.get("cardTemplateId")
    if template != "StandardCard":
        raise OpenApiError(
            400, "param.error", f"cardTemplateId: expected 'StandardCard', found {echo(template)}"
        )
    raw = body.get("cardData")
    try:  # the rules of request bodies: no lone surrogates, NaN or deep nesting either
        data = jsonsafe.loads(raw, what="cardData") if isinstance(raw, str) else None
    except jsonsafe.BadJson as exc:
        raise OpenApiError(400, "param.isNotJson", f"{exc}; expected a JSON object as a string") from None
    if not isinstance(data, dict):
        raise OpenApiError(
            400, "param.isNotJson", f"cardData: expected a JSON object as a string, found {echo(raw, 80)}"
        )
    app.off_duty_prompt = data
    return {"success": True, "result": True}, None, None


def register_card_callback(platform: Platform, app: App, body: Any, t: float) -> Result:
    body = _obj(body)
    key = body.get("callbackRouteKey")
    if not isinstance(key, str) or not key:
        raise OpenApiError(
            400, "param.invalid", f"callbackRouteKey: expected a non-empty string, found {echo(key)}"
        )
    try:
        url = loopback_url(body.get("callbackUrl"), "callbackUrl")
    except ConfigError as exc:
        raise OpenApiError(400, "param.invalid", str(exc)) from None
    secret = body.get("apiSecret")
    if secret is not None and not isinstance(secret, str):
        raise OpenApiError(400, "param.invalid", f"apiSecret: expected a string, found {echo(secret)}")
    force = body.get("forceUpdate", False)
    if not isinstance(force, bool):
        raise OpenApiError(400, "param.invalid", f"forceUpdate: expected true or false, found {echo(force)}")
    if key in app.card_callbacks and not force:
        raise OpenApiError(
            400,
            "param.invalid",
            f"callbackRouteKey {echo(key)} is already registered; send forceUpdate: true to replace it",
        )
    secret = secret or platform.ids.token()
    app.card_callbacks[key] = (secret, url)
    return {"success": True, "result": {"callbackUrl": url, "apiSecret": secret}}, None, None


ROUTES: tuple[tuple[str, str, Callable[[Platform, App, Any, float], Result]], ...] = (
    ("POST", OFF_DUTY_PATH, off_duty_prompt),
    ("POST", CARD_CALLBACK_REGISTER_PATH, register_card_callback),
)

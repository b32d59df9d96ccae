"""The host names the fake answers for in TLS mode (what the official SDKs hard-code)."""

from __future__ import annotations

DINGTALK_HOSTS = ("api.dingtalk.com", "oapi.dingtalk.com", "wss-open-connection.dingtalk.com")
STREAM_HOST = DINGTALK_HOSTS[2]
SERVER_NAMES = (*DINGTALK_HOSTS, "localhost", "127.0.0.1")
TRUSTSTORE_PASSWORD = "fakeding"

"""A load robot of robots.py as its own process on the official SDK, in real time:
``python run_robot.py Correct`` against the fake named by DINGTALK_OPENAPI_ENDPOINT (read by
the SDK at import) with DINGTALK_CLIENT_ID / DINGTALK_CLIENT_SECRET."""

from __future__ import annotations

import os
import sys

import dingtalk_stream
import robots

if __name__ == "__main__":
    handler = getattr(robots, sys.argv[1])()
    credential = dingtalk_stream.Credential(
        os.environ["DINGTALK_CLIENT_ID"], os.environ["DINGTALK_CLIENT_SECRET"]
    )
    client = dingtalk_stream.DingTalkStreamClient(credential)
    client.register_callback_handler(dingtalk_stream.ChatbotMessage.TOPIC, handler)
    print("robot: starting", flush=True)
    client.start_forever()

"""The SDK-on-a-thread helpers now ship with the kit (``fakeding.testing.sdk``)."""

from fakeding.testing.sdk import CardCallbackRecorder, OnMessage, RecordingHandler, SdkRobot

__all__ = ["CardCallbackRecorder", "OnMessage", "RecordingHandler", "SdkRobot"]

"""A robot process, as the DingTalk tutorial starts one: the official SDK, credentials from
the environment, ``start_forever()``. It answers every message through the session webhook."""

import os

import dingtalk_stream
from dingtalk_stream import AckMessage, ChatbotMessage


class EchoHandler(dingtalk_stream.ChatbotHandler):
    async def process(self, callback):
        incoming = ChatbotMessage.from_dict(callback.data)
        self.reply_text("echo: " + incoming.text.content.strip(), incoming)
        return AckMessage.STATUS_OK, "OK"


def main():
    credential = dingtalk_stream.Credential(os.environ["DINGTALK_CLIENT_ID"],
                                            os.environ["DINGTALK_CLIENT_SECRET"])
    client = dingtalk_stream.DingTalkStreamClient(credential)
    client.register_callback_handler(ChatbotMessage.TOPIC, EchoHandler())
    client.start_forever()


if __name__ == "__main__":
    main()

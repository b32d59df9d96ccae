"""A robot process in the SDK's own style that re-sends a user's picture: ``start_forever()``,
credentials from the environment, ``extract_image_from_incoming_message`` (download, then the
SDK's ``upload_to_dingtalk`` to the hard-coded ``https://oapi.dingtalk.com/media/upload``) and
the media id in a group message. It knows the fake only through its environment."""

import json
import os

import dingtalk_stream
import requests
from dingtalk_stream import AckMessage, ChatbotMessage
from dingtalk_stream.utils import DINGTALK_OPENAPI_ENDPOINT


class PictureBot(dingtalk_stream.ChatbotHandler):
    async def process(self, callback):
        incoming = ChatbotMessage.from_dict(callback.data)
        media_ids = self.extract_image_from_incoming_message(incoming)
        print("media " + json.dumps(media_ids), flush=True)
        sent = requests.post(
            DINGTALK_OPENAPI_ENDPOINT + "/v1.0/robot/groupMessages/send",
            headers={"x-acs-dingtalk-access-token": self.dingtalk_client.get_access_token()},
            json={
                "robotCode": self.dingtalk_client.credential.client_id,
                "openConversationId": incoming.conversation_id,
                "msgKey": "sampleImageMsg",
                "msgParam": json.dumps({"photoURL": media_ids[0]}),
            },
            timeout=10,
        )
        print(f"sent {sent.status_code} {sent.text}", flush=True)
        return AckMessage.STATUS_OK, "OK"


def main():
    print("endpoint " + DINGTALK_OPENAPI_ENDPOINT, flush=True)
    credential = dingtalk_stream.Credential(
        os.environ["DINGTALK_CLIENT_ID"], os.environ["DINGTALK_CLIENT_SECRET"]
    )
    client = dingtalk_stream.DingTalkStreamClient(credential)
    client.register_callback_handler(ChatbotMessage.TOPIC, PictureBot())
    client.start_forever()


if __name__ == "__main__":
    main()

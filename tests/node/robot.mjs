// A Node robot on the official dingtalk-stream SDK, unmodified and with no request interceptors.
// It knows only DINGTALK_CLIENT_ID/SECRET and whatever standard variables it was started with
// (HTTPS_PROXY, NO_PROXY, NODE_EXTRA_CA_CERTS from fakeding's /_fakeding/env?lang=node).
// Each thing it sees or does is one JSON line on stdout, for the test to read.
import axios from 'axios';
import { DWClient, EventAck, TOPIC_CARD, TOPIC_ROBOT } from 'dingtalk-stream';

const say = (o) => console.log(JSON.stringify(o));
const client = new DWClient({
  clientId: process.env.DINGTALK_CLIENT_ID,
  clientSecret: process.env.DINGTALK_CLIENT_SECRET,
});

const card = (bizId, conversationId) => ({
  cardTemplateId: 'StandardCard',
  robotCode: process.env.DINGTALK_CLIENT_ID,
  cardBizId: bizId,
  openConversationId: conversationId,
  cardData: JSON.stringify({
    config: { autoLayout: true },
    header: { title: { type: 'text', text: 'node' } },
    contents: [
      { type: 'markdown', text: 'was this helpful?', id: 'text_1' },
      { type: 'action', id: 'action_1', actions: [{
        type: 'button', id: 'helpful', actionType: 'request', status: 'primary',
        label: { type: 'text', text: 'Helpful', id: 'label_1' }, value: '{"vote":"up"}',
      }] },
    ],
  }),
});

let cards = 0;
async function onMessage(res) {
  const msg = JSON.parse(res.data);
  client.socketCallBackResponse(res.headers.messageId, { ok: true }); // ack first, then work
  const text = msg.text.content.trim();
  await axios.post(msg.sessionWebhook, { msgtype: 'text', text: { content: `node heard: ${text}` } });
  const token = await client.getAccessToken(); // GET https://oapi.dingtalk.com/gettoken
  cards += 1;
  const bizId = `node-card-${cards}`;
  await axios.post('https://api.dingtalk.com/v1.0/im/v1.0/robot/interactiveCards/send',
    card(bizId, msg.conversationId), { headers: { 'x-acs-dingtalk-access-token': token } });
  say({ kind: 'message', text, card: bizId });
}

client.registerCallbackListener(TOPIC_ROBOT, (res) => {
  onMessage(res).catch((e) => say({ kind: 'error', where: 'message', error: String(e) }));
});
client.registerCallbackListener(TOPIC_CARD, (res) => {
  const data = JSON.parse(res.data);
  client.socketCallBackResponse(res.headers.messageId, {});
  say({ kind: 'card', outTrackId: data.outTrackId, userId: data.userId, value: JSON.parse(data.value) });
});
client.registerAllEventListener((msg) => {
  say({ kind: 'event', topic: msg.headers.topic, data: JSON.parse(msg.data) });
  return { status: EventAck.SUCCESS };
});

client.on('error', (e) => say({ kind: 'error', where: 'client', error: String(e) }));
await client.connect();
const started = Date.now();
while (!client.connected && Date.now() - started < 20000) {
  await new Promise((r) => setTimeout(r, 50));
}
say({ kind: client.connected ? 'connected' : 'not-connected' });

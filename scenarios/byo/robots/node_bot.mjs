// A Node robot written the way the dingtalk-stream README teaches, run by a scenario's
// `robot: {command: [node, node_bot.mjs]}`. The SDK calls https://api.dingtalk.com; the runner
// serves the fake in TLS mode and starts this with HTTPS_PROXY and NODE_EXTRA_CA_CERTS.
// It acks each message, answers through the session webhook, then sends a vote card; a click
// is acked and answered in the conversation.
import axios from 'axios';
import { DWClient, TOPIC_CARD, TOPIC_ROBOT } from 'dingtalk-stream';

const client = new DWClient({
  clientId: process.env.DINGTALK_CLIENT_ID,
  clientSecret: process.env.DINGTALK_CLIENT_SECRET,
});
const webhooks = new Map(); // card id -> the session webhook of its conversation
let cards = 0;

const voteCard = (bizId, conversationId, question) => ({
  cardTemplateId: 'StandardCard',
  robotCode: process.env.DINGTALK_CLIENT_ID,
  cardBizId: bizId,
  openConversationId: conversationId,
  cardData: JSON.stringify({
    config: { autoLayout: true },
    header: { title: { type: 'text', text: question } },
    contents: [
      { type: 'markdown', text: 'Was this helpful?', id: 'text_1' },
      { type: 'action', id: 'action_1', actions: [
        { type: 'button', id: 'yes', actionType: 'request', status: 'primary',
          label: { type: 'text', text: 'Yes', id: 'label_yes' }, value: '{"vote":"yes"}' },
        { type: 'button', id: 'no', actionType: 'request', status: 'normal',
          label: { type: 'text', text: 'No', id: 'label_no' }, value: '{"vote":"no"}' },
      ] },
    ],
  }),
});

async function onMessage(res) {
  const msg = JSON.parse(res.data);
  client.socketCallBackResponse(res.headers.messageId, { ok: true }); // ack first, then work
  const text = msg.text.content.trim();
  await axios.post(msg.sessionWebhook, { msgtype: 'text', text: { content: `node heard: ${text}` } });
  const token = await client.getAccessToken();
  cards += 1;
  const bizId = `node-card-${cards}`;
  webhooks.set(bizId, msg.sessionWebhook);
  await axios.post('https://api.dingtalk.com/v1.0/im/v1.0/robot/interactiveCards/send',
    voteCard(bizId, msg.conversationId, text), { headers: { 'x-acs-dingtalk-access-token': token } });
}

async function onCard(res) {
  const data = JSON.parse(res.data);
  client.socketCallBackResponse(res.headers.messageId, {});
  const vote = JSON.parse(data.value).cardPrivateData.params.vote;
  const webhook = webhooks.get(data.outTrackId);
  if (webhook) {
    await axios.post(webhook, { msgtype: 'text', text: { content: `thanks for voting ${vote}` } });
  }
}

const report = (where) => (e) => console.error(`${where}: ${e}`);
client.registerCallbackListener(TOPIC_ROBOT, (res) => { onMessage(res).catch(report('message')); });
client.registerCallbackListener(TOPIC_CARD, (res) => { onCard(res).catch(report('card')); });
await client.connect();
console.log('connected');

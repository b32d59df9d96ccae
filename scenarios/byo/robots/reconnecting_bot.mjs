// A Node robot on the raw Stream protocol that reconnects on a timer, as robots with their own
// health checks do. With CLOSE_OLD_SOCKET=1 it closes the previous socket after the new one is
// open; without it, each reconnect leaks a live socket, the field's "30 connections for one
// robot" bug. It acks every message and answers through the session webhook.
// Env: the runner's DINGTALK_CLIENT_ID/SECRET, HTTPS_PROXY and NODE_EXTRA_CA_CERTS (TLS mode),
// RECONNECT_EVERY_MS (default 700) and RECONNECTS (default 3).
import axios from 'axios';
import WebSocket from 'ws';

const closeOld = process.env.CLOSE_OLD_SOCKET === '1';
const every = Number(process.env.RECONNECT_EVERY_MS || 700);
let left = Number(process.env.RECONNECTS || 3);
let current = null;

async function open() {
  const { data } = await axios.post('https://api.dingtalk.com/v1.0/gateway/connections/open', {
    clientId: process.env.DINGTALK_CLIENT_ID,
    clientSecret: process.env.DINGTALK_CLIENT_SECRET,
    subscriptions: [{ type: 'CALLBACK', topic: '/v1.0/im/bot/messages/get' }],
    ua: 'fakeding-reconnecting-bot/1',
  });
  const ws = new WebSocket(`${data.endpoint}?ticket=${encodeURIComponent(data.ticket)}`);
  ws.on('message', (raw) => onFrame(ws, JSON.parse(raw.toString())).catch(console.error));
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  return ws;
}

async function onFrame(ws, frame) {
  const ack = (data) => ws.send(JSON.stringify({
    code: 200, message: 'OK', data: JSON.stringify(data),
    headers: { messageId: frame.headers.messageId, contentType: 'application/json' },
  }));
  if (frame.type === 'SYSTEM') { ack(frame.headers.topic === 'ping' ? JSON.parse(frame.data) : {}); return; }
  ack({});
  const msg = JSON.parse(frame.data);
  await axios.post(msg.sessionWebhook,
    { msgtype: 'text', text: { content: `heard: ${msg.text.content.trim()}` } });
}

async function reconnect() {
  const old = current;
  current = await open();
  if (closeOld && old) old.close(1000, 'reconnected');
  left -= 1;
  if (left > 0) setTimeout(() => reconnect().catch(console.error), every);
}

current = await open();
console.log('connected');
setTimeout(() => reconnect().catch(console.error), every);

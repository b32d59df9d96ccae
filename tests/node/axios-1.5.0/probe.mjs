// axios 1.5.0 (what the official Node SDK's lockfile pins), unmodified, with only the standard
// variables fakeding's /_fakeding/env?lang=node gives (HTTPS_PROXY, NO_PROXY, NODE_EXTRA_CA_CERTS).
// It sends its requests to the proxy in absolute form, not through CONNECT. One JSON line each.
import axios from 'axios';

const say = (o) => console.log(JSON.stringify(o));
try {
  const token = await axios.post('https://api.dingtalk.com/v1.0/oauth2/accessToken', {
    appKey: process.env.DINGTALK_CLIENT_ID, appSecret: process.env.DINGTALK_CLIENT_SECRET,
  });
  say({ kind: 'token', status: token.status, hasToken: Boolean(token.data.accessToken) });
  const legacy = await axios.get('https://oapi.dingtalk.com/gettoken', {
    params: { appkey: process.env.DINGTALK_CLIENT_ID, appsecret: process.env.DINGTALK_CLIENT_SECRET },
  });
  say({ kind: 'legacy', status: legacy.status, errcode: legacy.data.errcode });
  const big = await axios.post('https://api.dingtalk.com/v1.0/robot/groupMessages/send', {
    robotCode: process.env.DINGTALK_CLIENT_ID, openConversationId: 'cidAxios', msgKey: 'sampleText',
    msgParam: JSON.stringify({ content: '长'.repeat(3000) }),
  }, { headers: { 'x-acs-dingtalk-access-token': token.data.accessToken } });
  say({ kind: 'send', status: big.status });
} catch (e) {
  say({ kind: 'error', error: String(e), status: e.response?.status, body: e.response?.data });
}

// The official generated OpenAPI client (@alicloud/dingtalk), as a robot team calls DingTalk with
// it, over HTTPS to `fakeding serve --tls` (NODE_EXTRA_CA_CERTS trusts its CA). Its HTTP layer
// (@alicloud/tea-typescript) ignores proxies, so HTTPS_PROXY cannot bring it to the fake: its
// Config endpoint is pointed there instead (DINGTALK_ENDPOINT, host:port), as teams configure
// it. Prints, per route, what the client's models parsed.
const OpenApi = require('@alicloud/openapi-client');
const Util = require('@alicloud/tea-util');
const oauth = require('@alicloud/dingtalk/dist/oauth2_1_0/client.js');
const robot = require('@alicloud/dingtalk/dist/robot_1_0/client.js');
const card = require('@alicloud/dingtalk/dist/card_1_0/client.js');
const im = require('@alicloud/dingtalk/dist/im_1_0/client.js');

const config = () => new OpenApi.Config({ protocol: 'https', regionId: 'central',
  endpoint: process.env.DINGTALK_ENDPOINT });
const runtime = new Util.RuntimeOptions({});
const [clientId, clientSecret, group] = process.argv.slice(2);

async function main() {
  const out = {};
  const token = await new oauth.default(config()).getAccessToken(
    new oauth.GetAccessTokenRequest({ appKey: clientId, appSecret: clientSecret }));
  out['POST /v1.0/oauth2/accessToken'] = token.body.toMap();
  const access = token.body.accessToken;
  const r = new robot.default(config());
  out['POST /v1.0/robot/oToMessages/batchSend'] = (await r.batchSendOTOWithOptions(
    new robot.BatchSendOTORequest({ robotCode: clientId, userIds: ['alice'], msgKey: 'sampleText',
      msgParam: JSON.stringify({ content: 'hi' }) }),
    new robot.BatchSendOTOHeaders({ xAcsDingtalkAccessToken: access }), runtime)).body.toMap();
  out['POST /v1.0/robot/groupMessages/send'] = (await r.orgGroupSendWithOptions(
    new robot.OrgGroupSendRequest({ robotCode: clientId, openConversationId: group,
      msgKey: 'sampleText', msgParam: JSON.stringify({ content: 'hi group' }) }),
    new robot.OrgGroupSendHeaders({ xAcsDingtalkAccessToken: access }), runtime)).body.toMap();
  const c = new card.default(config());
  out['POST /v1.0/card/instances/createAndDeliver'] = (await c.createAndDeliverWithOptions(
    new card.CreateAndDeliverRequest({ cardTemplateId: 'node.schema', outTrackId: 'node-ai-1',
      cardData: new card.CreateAndDeliverRequestCardData({ cardParamMap: { content: '' } }),
      openSpaceId: `dtv1.card//IM_GROUP.${group}`,
      imGroupOpenSpaceModel: new card.CreateAndDeliverRequestImGroupOpenSpaceModel({ supportForward: true }),
      imGroupOpenDeliverModel: new card.CreateAndDeliverRequestImGroupOpenDeliverModel({ robotCode: clientId }) }),
    new card.CreateAndDeliverHeaders({ xAcsDingtalkAccessToken: access }), runtime)).body.toMap();
  out['PUT /v1.0/card/streaming'] = (await c.streamingUpdateWithOptions(
    new card.StreamingUpdateRequest({ outTrackId: 'node-ai-1', guid: 'g1', key: 'content',
      content: 'streamed', isFull: true, isFinalize: true, isError: false }),
    new card.StreamingUpdateHeaders({ xAcsDingtalkAccessToken: access }), runtime)).body.toMap();
  out['PUT /v1.0/card/instances'] = (await c.updateCardWithOptions(
    new card.UpdateCardRequest({ outTrackId: 'node-ai-1',
      cardData: new card.UpdateCardRequestCardData({ cardParamMap: { content: 'final' } }) }),
    new card.UpdateCardHeaders({ xAcsDingtalkAccessToken: access }), runtime)).body.toMap();
  const i = new im.default(config());
  const data = { config: { autoLayout: true }, contents: [{ type: 'markdown', text: 'v1', id: 'm' }] };
  out['POST /v1.0/im/v1.0/robot/interactiveCards/send'] = (await i.sendRobotInteractiveCardWithOptions(
    new im.SendRobotInteractiveCardRequest({ cardTemplateId: 'StandardCard', openConversationId: group,
      cardBizId: 'node-card-1', robotCode: clientId, cardData: JSON.stringify(data) }),
    new im.SendRobotInteractiveCardHeaders({ xAcsDingtalkAccessToken: access }), runtime)).body.toMap();
  out['PUT /v1.0/im/robots/interactiveCards'] = (await i.updateRobotInteractiveCardWithOptions(
    new im.UpdateRobotInteractiveCardRequest({ cardBizId: 'node-card-1', cardData: JSON.stringify(data) }),
    new im.UpdateRobotInteractiveCardHeaders({ xAcsDingtalkAccessToken: access }), runtime)).body.toMap();
  console.log(JSON.stringify(out));
}

main().catch((e) => { console.error(`generated client failed: ${e.stack || e}`); process.exit(1); });

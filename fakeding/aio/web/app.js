// fakeding emulator: a DingTalk chat in the browser, fed live by /_fakeding/events (SSE).
// A token-protected fake (beyond loopback) is opened as /?token=…: the page keeps the token
// for this tab only, takes it out of the address bar, and sends it as a header on every call.
// No build step, no dependencies: the state below is rebuilt from the fake's snapshot and
// then follows its events; the DOM is updated per event (cards) or per frame (timeline).
"use strict";

const I18N = {
  en: {
    subtitle: "DingTalk emulator", connecting: "connecting…", live: "live", lost: "reconnecting…",
    save: "Save as scenario", conversations: "Conversations", addGroup: "+ group",
    addSingle: "+ 1:1 chat", users: "Users", newUser: "staffId or name", atRobot: "@robot",
    typeHere: "Type a message, Enter sends", send: "Send", picture: "Picture", file: "File",
    timeline: "Timeline", faults: "Faults", settings: "Settings", connections: "Connections",
    allKinds: "all kinds", pause: "pause", faultsHelp: "Applied now to the robot's connections and calls.",
    fDisconnect: "Disconnect (SYSTEM)", fDrop: "Drop connection", fZombie: "Zombie connection",
    fToken: "Expire tokens", fFrameDrop: "Drop next frame", fFrameDup: "Duplicate next frame",
    apiFailure: "API failure", route: "route", status: "status", count: "calls", inject: "Inject",
    apply: "Apply", saveHelp: "Replay it with: fakeding scenario run emulator-session.yaml",
    download: "Download", close: "Close", group: "group", single: "1:1", you: "as",
    version: "version", clicked: "clicked", off: "off", applied: "applied", armed: "armed",
    paused: "paused, {n} new", events: "{n} events", noConnections: "no connections",
    groupName: "Group name?", singleWith: "1:1 chat with which user (staffId)?",
    flow1: "processing", flow2: "typing", flow3: "finished", flow4: "executing", flow5: "failed",
    latest: "latest", denied: "refused",
  },
  zh: {
    subtitle: "钉钉模拟器", connecting: "连接中…", live: "实时", lost: "重新连接中…",
    save: "保存为场景", conversations: "会话", addGroup: "+ 群聊", addSingle: "+ 单聊",
    users: "用户", newUser: "staffId 或名字", atRobot: "@机器人", typeHere: "输入消息，回车发送",
    send: "发送", picture: "图片", file: "文件", timeline: "时间线", faults: "故障",
    settings: "设置", connections: "连接", allKinds: "全部类型", pause: "暂停",
    faultsHelp: "立即作用于机器人的连接和调用。", fDisconnect: "断开 (SYSTEM)",
    fDrop: "掐断连接", fZombie: "僵尸连接", fToken: "令牌过期", fFrameDrop: "丢弃下一帧",
    fFrameDup: "重复下一帧", apiFailure: "接口失败", route: "接口", status: "状态码",
    count: "次数", inject: "注入", apply: "应用",
    saveHelp: "回放：fakeding scenario run emulator-session.yaml", download: "下载",
    close: "关闭", group: "群聊", single: "单聊", you: "身份", version: "版本",
    clicked: "点击了", off: "关闭", applied: "已应用", armed: "已注入",
    paused: "已暂停，新增 {n} 条", events: "{n} 条事件", noConnections: "没有连接",
    groupName: "群名称？", singleWith: "与哪个用户单聊（staffId）？",
    flow1: "处理中", flow2: "输入中", flow3: "已完成", flow4: "执行中", flow5: "失败",
    latest: "最新", denied: "被拒绝",
  },
};

// The workbench's words (issue 24): kept apart from the table above so both grow without clashes.
Object.assign(I18N.en, {
  skip: "Skip to the composer", shortcuts: "Shortcuts", panes: "Panes",
  keySlash: "type a message (focus the composer)", keyUp: "in an empty composer: recall the last message",
  keyAlt: "timeline, faults, settings, connections, replay", keyArrows: "on the tabs: the previous or next pane",
  keyHelp: "this help", live: "page: live", noRobot: "no robot connected",
  robotsUp: "robot {list}", since: "since +{t}s",
  queued: "Queued: no robot is connected to receive it. Start one, and it gets the message:",
  prevVersion: "previous version", nextVersion: "next version", latestVersion: "latest version",
  said: "{who} said: {text}", robotName: "robot",
  search: "search text, ids, fields", allConvs: "all conversations", allUsers: "all users",
  allCards: "all cards", errorsOnly: "errors only", exportJson: "Export JSON",
  older: "Load {n} older", inspector: "Inspector", copyStep: "Copy as scenario step",
  inspect: "Inspect", copied: "copied", iMessage: "The message", iFrames: "Frames pushed",
  iDelivery: "Delivery attempts and acks", iApi: "OpenAPI calls the robot made for it",
  iCards: "Card versions it produced", iViolations: "Violations and warnings", iStep: "As a scenario step",
  none: "none", request: "request", response: "response", headers: "headers", data: "data",
  restart: "Restart", attach: "Upload…", sendEvent: "Send an event", eventType: "event", eventData: "data (JSON)",
  sendEventBtn: "Push event", pushed: "pushed",
  default: "default", faultAt: "in seconds (empty: now)", faultDelay: "delay each by (s; with status 200: only delay)",
  armedList: "Armed and waiting", disarm: "Disarm", waiting: "waiting", fired: "fired {n}",
});
Object.assign(I18N.zh, {
  skip: "跳到输入框", shortcuts: "快捷键", panes: "面板",
  keySlash: "输入消息（聚焦输入框）", keyUp: "输入框为空时：取回上一条消息",
  keyAlt: "时间线、故障、设置、连接、回放", keyArrows: "在标签上：上一个或下一个面板",
  keyHelp: "本帮助", live: "页面：实时", noRobot: "没有机器人连接",
  robotsUp: "机器人 {list}", since: "自 +{t}s",
  queued: "已排队：没有机器人连接来接收它。启动一个，它就会收到这条消息：",
  prevVersion: "上一版本", nextVersion: "下一版本", latestVersion: "最新版本",
  said: "{who} 说：{text}", robotName: "机器人",
  search: "搜索文本、ID、字段", allConvs: "全部会话", allUsers: "全部用户", allCards: "全部卡片",
  errorsOnly: "只看错误", exportJson: "导出 JSON", older: "加载更早的 {n} 条", inspector: "检查器",
  copyStep: "复制为场景步骤", inspect: "检查", copied: "已复制", iMessage: "消息", iFrames: "推送的帧",
  iDelivery: "投递与确认", iApi: "机器人为它调用的 OpenAPI", iCards: "它产生的卡片版本",
  iViolations: "违规与警告", iStep: "场景步骤", none: "无", request: "请求", response: "响应",
  headers: "头", data: "数据",
  restart: "重新开始", attach: "上传…", sendEvent: "发送事件", eventType: "事件", eventData: "数据 (JSON)",
  sendEventBtn: "推送事件", pushed: "已推送",
  default: "默认", faultAt: "几秒后（空：立即）", faultDelay: "每次延迟（秒；状态码 200 时只延迟）",
  armedList: "已注入与等待中", disarm: "撤销", waiting: "等待中", fired: "已触发 {n}",
});

const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...kids) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const kid of kids) if (kid != null) node.append(kid);
  return node;
};

const S = {
  lang: localStorage.getItem("fakeding.lang") || (navigator.language.startsWith("zh") ? "zh" : "en"),
  convs: new Map(),      // id -> {id, type, title, items: [say events]}
  users: new Map(),      // staffId -> nick
  cards: new Map(),      // id -> {meta, versions: [{t, via, cardData}], shown: index|null}
  cardNodes: new Map(),  // id -> card element in the chat
  records: [], lastSeq: 0, current: "cidGroup001", user: "user001",
  paused: false, pending: 0, dirtyTimeline: false, stream: null,
};
const t = (key, vars = {}) => (I18N[S.lang][key] || key).replace(/\{(\w+)\}/g, (_, k) => vars[k]);

// ---- state from events ----------------------------------------------------------------------
function ensureConv(id, type, title) {
  let c = S.convs.get(id);
  if (!c) {
    c = { id, type: type || "group", title: title || id, items: [] };
    S.convs.set(id, c);
    renderConvList();
  } else if (title && c.title !== title) { c.title = title; renderConvList(); }
  return c;
}

function resetState() {
  S.convs.clear(); S.cards.clear(); S.cardNodes.clear(); S.records = []; S.lastSeq = 0;
  ensureConv("cidGroup001", "group", "fakeding group");
  if (!S.users.size) S.users.set("user001", "Alice");
}

function onSnapshot(snap) {
  resetState();
  S.older = snap.older || 0; S.since = snap.since || 0; S.msgs = new Map();
  for (const c of snap.cards) S.cards.set(c.id, { meta: c, versions: c.versions, shown: null });
  for (const e of snap.transcript) addSay(e, false);
  for (const r of snap.records) addRecord(r, false);
  openMostRecent(snap);
  renderConvList(); renderUsers(); renderChat(); renderConnections(snap.connections);
  refreshApps();
  renderSettings(snap.settings); S.dirtyTimeline = true; scheduleTimeline(); refreshFindOptions();
}

function addSay(e, live = true) {
  const c = ensureConv(e.conversation, e.conversationType, e.title);
  c.items.push(e);
  if (e.who.startsWith("user:")) {
    const id = e.who.slice(5);
    if (!S.users.has(id)) { S.users.set(id, id); if (live) renderUsers(); }
  }
  if (live) {
    if (c.id === S.current) appendItem(e); else renderConvList();
    announce(e);
  }
}

function addRecord(r, live = true) {
  if (r.seq <= S.lastSeq) return;  // already in the snapshot
  S.lastSeq = r.seq;
  S.records.push(r);
  noteMessage(r);
  if (r.card) {
    let card = S.cards.get(r.card.id);
    if (!card) { card = { meta: r.card, versions: [], shown: null }; S.cards.set(r.card.id, card); }
    card.meta = Object.assign(card.meta, r.card);
    card.versions[r.card.version - 1] = { t: r.card.t, via: r.card.via, cardData: r.card.cardData };
    if (live) updateCardNode(r.card.id);
  }
  if (!live) return;
  if (r.kind === "connect" || r.kind === "disconnect" || (r.kind === "fault" && !r.fields.fired)) refreshConnections();
  if (r.kind === "fault") refreshArmed();
  if (S.paused) { S.pending += 1; updateCount(); return; }
  S.dirtyTimeline = true; scheduleTimeline();
}

function onEvents(batch) {
  for (const e of batch) {
    if (e.type === "snapshot") onSnapshot(e);
    else if (e.type === "record") addRecord(e);
    else if (e.type === "say") addSay(e);
    else if (e.type === "reset") { connect(); return; }
  }
  if (R.steps.length) scheduleReplay();
}

// ---- the control token ------------------------------------------------------------------------
const TOKEN = (() => {
  const url = new URL(location.href);
  const given = url.searchParams.get("token");
  if (given === null) return sessionStorage.getItem("fakeding-token") || "";
  sessionStorage.setItem("fakeding-token", given);  // this tab only; gone when it closes
  url.searchParams.delete("token");  // out of the address bar, history and any Referer
  history.replaceState(null, "", url.pathname + url.search + url.hash);
  return given;
})();
function api(path, init = {}) {
  const headers = Object.assign({}, init.headers || {});
  if (TOKEN) headers.Authorization = `Bearer ${TOKEN}`;
  return fetch(path, Object.assign({}, init, { headers, credentials: "omit" }));
}

// ---- the live stream: server-sent events read with fetch (EventSource cannot send a header)
function connect() {
  if (S.stream) S.stream.abort();
  const ctl = new AbortController();
  S.stream = ctl;
  follow(ctl).then((refused) => {
    if (S.stream !== ctl) return;  // replaced by a newer stream (a reset)
    if (refused) { setLive("denied", refused); return; }  // retrying cannot help
    setLive("lost");
    setTimeout(() => { if (S.stream === ctl) connect(); }, 500);
  });
}
async function follow(ctl) {
  let r;
  try { r = await api("/_fakeding/events", { signal: ctl.signal }); } catch (_) { return null; }
  if (r.status >= 400 && r.status < 500) return (await r.json().catch(() => ({}))).error || `${r.status}`;
  if (!r.ok || !r.body) return null;
  setLive("live");
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done || S.stream !== ctl) return null;
      buf += value;
      let end;
      while ((end = buf.indexOf("\n\n")) >= 0) {
        const data = buf.slice(0, end).split("\n").filter((l) => l.startsWith("data: "))
          .map((l) => l.slice(6)).join("\n");
        buf = buf.slice(end + 2);
        if (data) onEvents([JSON.parse(data)]);
        if (S.stream !== ctl) return null;
      }
    }
  } catch (_) { return null; }
}
function setLive(state, why) {
  const n = $("#live-state"); n.dataset.state = state; n.textContent = t(state);
  n.title = why || "";
}

// ---- markdown, as the DingTalk client shows a card's markdown block -------------------------
function esc(s) { return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]); }
// The same rules as fakeding/core/templates/markdown.py (DingTalk's subset per surface: "ai" ignores
// a single newline; tables and code fences stay literal), which draws template cards' markdown.
const SAFE_URL = /^https?:\/\//i;
function inline(s) {
  return esc(s)
    .replace(/!\[([^\]]*)\]\(([^)\s]*)\)/g, (m, alt, src) => (SAFE_URL.test(src) ? `<img alt="${alt}" src="${src}">` : `[image ${src}]`))
    .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (m, txt, url) => (SAFE_URL.test(url) ? `<a href="${url}" target="_blank" rel="noopener">${txt}</a>` : m))
    .replace(/\*\*(.+?)\*\*/g, "<b>$1</b>")
    .replace(/(^|[^*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])/g, "$1<i>$2</i>")
    .replace(/&lt;font\s+color\s*=\s*(?:&quot;|')?(#?[0-9A-Za-z]+)(?:&quot;|')?\s*&gt;([\s\S]*?)&lt;\/font&gt;/g, '<span style="color:$1">$2</span>')
    .replace(/&lt;br\s*\/?&gt;/gi, "<br>");
}
function markdown(text, surface = "card") {
  const blocks = []; let para = []; let fenced = false; let list = null;
  const endList = () => { if (list) blocks.push(`</${list}>`); list = null; };
  const flush = () => { if (para.length) blocks.push(`<p>${para.map(inline).join(surface === "ai" ? " " : "<br>")}</p>`); para = []; };
  const item = (kind, text) => {  // list items inside their list (a bare <li> is no list to a screen reader)
    if (list !== kind) { endList(); blocks.push(`<${kind}>`); list = kind; }
    blocks.push(`<li>${inline(text)}</li>`);
  };
  for (const line of String(text).replace(/\r\n/g, "\n").split("\n")) {
    const fence = /^\s*(```|~~~)/.test(line);
    if (fence) fenced = !fenced;
    if (fenced || fence || /^\s*\|.*\|\s*$/.test(line)) { flush(); endList(); blocks.push(`<p class="literal">${esc(line)}</p>`); continue; }
    if (!line.trim()) { flush(); endList(); continue; }
    let m;
    if ((m = line.match(/^\s*([-*+]|\d+\.)\s+(.*)$/))) { flush(); item(/\d/.test(m[1]) ? "ol" : "ul", m[2]); continue; }
    endList();
    if ((m = line.match(/^(#{1,6})\s+(.*)$/))) { flush(); blocks.push(`<h${m[1].length}>${inline(m[2])}</h${m[1].length}>`); }
    else if ((m = line.match(/^>\s?(.*)$/))) { flush(); blocks.push(`<blockquote>${inline(m[1])}</blockquote>`); }
    else para.push(line);
  }
  flush(); endList();
  const div = el("div", { class: "card-md" });
  div.innerHTML = blocks.join("");
  return div;
}

// ---- cards ---------------------------------------------------------------------------------
function label(b) { return b && typeof b.label === "object" ? b.label.text || "" : String((b && b.label) || ""); }

function renderStandard(card, data) {
  const node = el("div", { class: "card-inner" });
  const title = data.header && data.header.title;
  if (title) node.append(el("div", { class: "card-header", text: title.text || "" }));
  const body = el("div", { class: "card-body" });
  for (const item of data.contents || []) {
    if (!item || typeof item !== "object") continue;
    if (item.type === "markdown" || item.type === "text") {
      const md = markdown(item.text || ""); md.dataset.elementId = item.id || ""; body.append(md);
    } else if (item.type === "divider") body.append(el("hr"));
    else if (item.type === "action") {
      const row = el("div", { class: "card-actions" });
      for (const b of item.actions || []) {
        row.append(el("button", {
          type: "button", class: "card-btn", "data-button-id": b.id || "", text: label(b),
          onclick: () => clickButton(card.meta.id, b.id),
        }));
      }
      body.append(row);
    } else body.append(el("div", { class: "muted", text: `<${item.type}>` }));
  }
  node.append(body);
  return node;
}

function renderInstance(card, data) {
  // An AI card: its parameters, the flow state as a badge, the streamed text as markdown.
  const node = el("div", { class: "card-inner" });
  const flow = data.flowStatus;
  if (flow != null) node.append(el("span", { class: "card-flow", "data-flow": flow, text: t(`flow${flow}`) }));
  const body = el("div", { class: "card-body" });
  const text = data.content ?? data.markdown ?? data.msgContent;
  if (data.title) node.prepend(el("div", { class: "card-header", text: data.title }));
  if (text != null) body.append(markdown(text, "ai"));
  const rest = Object.entries(data).filter(([k]) => !["flowStatus", "content", "markdown", "msgContent", "title"].includes(k));
  if (rest.length) body.append(el("div", { class: "card-params", text: rest.map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join(" · ") }));
  node.append(body);
  return node;
}

// ---- template cards: the fake's renderer draws them for the user looking ---------------------
// Every version is drawn from the template (``version``: an earlier one, as the user saw it
// then); inputs keep what the user typed in card.local, sent as their local input when a
// button is tapped.
function renderTemplate(card, version = null) {
  const node = el("div", { class: "card-inner card-template" });
  const body = el("div", { class: "card-body" });
  node.append(body);
  const local = card.local || (card.local = {});
  const q = new URLSearchParams({ user: S.user });
  if (version) q.set("version", String(version));
  for (const [k, v] of Object.entries(local)) q.set(`local.${k}`, v);
  api(`/_fakeding/cards/${encodeURIComponent(card.meta.id)}/view?${q}`)
    .then((r) => r.json())
    .then((view) => { if (view && !view.error) fillTemplate(card, node, body, view); })
    .catch((err) => body.append(el("div", { class: "muted", text: String(err) })));
  return node;
}

function fillTemplate(card, node, body, view) {
  const flow = view.flowStatus;
  if (flow != null) node.prepend(el("span", { class: "card-flow", "data-flow": flow, text: t(`flow${flow}`) }));
  let row = null;
  for (const n of view.nodes) {
    if (n.kind !== "button") row = null;
    if (n.kind === "text") body.append(el("div", { class: "tpl-text", text: n.text }));
    else if (n.kind === "markdown") {
      const md = el("div", { class: "card-md" });
      md.innerHTML = n.html || "";  // built by the fake's markdown module: escaped, safe
      if (String(flow) === "2") md.append(el("span", { class: "caret", text: "▍" }));
      body.append(md);
    } else if (n.kind === "image") body.append(el("img", { class: "tpl-image", src: /^https?:/.test(n.src || "") ? n.src : "", alt: n.src || "" }));
    else if (n.kind === "divider") body.append(el("hr"));
    else if (n.kind === "loading") body.append(el("div", { class: "tpl-loading", text: "…" }));
    else if (n.kind === "input") {
      const input = el("input", { type: "text", class: "tpl-input", "data-local": n.local, placeholder: n.text });
      input.value = card.local[n.local] || "";
      input.addEventListener("input", () => { card.local[n.local] = input.value; });
      body.append(input);
    } else if (n.kind === "button") {
      if (!row) { row = el("div", { class: "card-actions" }); body.append(row); }
      const ids = n.payload && n.payload.actionData && n.payload.actionData.cardPrivateData
        ? n.payload.actionData.cardPrivateData.actionIds || [] : [];
      if (ids.length) {
        row.append(el("button", { type: "button", class: "card-btn", "data-button-id": ids[0], text: n.text,
          onclick: () => clickTemplate(card, ids[0]) }));
      } else if (n.action === "dtOpenLink" && /^https?:/.test(n.src || "")) {
        row.append(link(n.text, n.src, "card-btn"));
      }
    } else if (n.kind === "progress") body.append(progressBar(n.text));
    else if (n.kind === "tag") body.append(el("div", { class: "tpl-tags" }, el("span", { class: "tpl-tag", text: n.text })));
    else if (n.kind === "tags") body.append(el("div", { class: "tpl-tags" }, ...n.text.split(" · ").filter(Boolean).map((x) => el("span", { class: "tpl-tag", text: x }))));
    else if (n.kind === "chart") body.append(drawChart(n.text));
    else body.append(el("div", { class: "muted", text: `[${n.kind} ${n.text}]` }));
  }
}

// Designer components drawn as what they are: a bar for a ProgressBar, chips for tags, a
// small bar chart for a chart (its values, not its JSON).
function progressBar(text) {
  const pct = parseFloat(text);
  const bar = el("div", { class: "tpl-progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-label": text || "progress" },
    el("span", { class: "tpl-progress-track" }, el("span", { class: "tpl-progress-fill" })),
    el("span", { class: "tpl-progress-text", text: text || "" }));
  if (!Number.isNaN(pct)) {
    bar.setAttribute("aria-valuenow", String(pct));
    bar.querySelector(".tpl-progress-fill").style.width = `${Math.max(0, Math.min(100, pct))}%`;
  }
  return bar;
}
function drawChart(text) {
  let chart = null;
  try { chart = JSON.parse(text); } catch (_) { /* drawn as empty below */ }
  const points = chart && Array.isArray(chart.data) ? chart.data.slice(0, 60) : [];
  const name = `${(chart && chart.type) || "chart"}, ${points.length} points`;
  const ys = points.map((p) => Number(p && p.y) || 0);
  const top = Math.max(1, ...ys);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${Math.max(1, ys.length) * 10} 50`);
  svg.setAttribute("class", "tpl-chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", name);
  ys.forEach((y, i) => {
    const r = document.createElementNS(ns, "rect");
    const h = Math.max(1, (y / top) * 48);
    r.setAttribute("x", String(i * 10 + 1)); r.setAttribute("y", String(50 - h));
    r.setAttribute("width", "8"); r.setAttribute("height", String(h));
    svg.append(r);
  });
  return el("figure", { class: "tpl-chart-box", "data-points": String(points.length) }, svg, el("figcaption", { class: "muted", text: name }));
}

async function clickTemplate(card, buttonId) {
  $("#composer-error").textContent = "";
  try {
    await post(`/_fakeding/cards/${encodeURIComponent(card.meta.id)}/click`, { staffId: S.user, buttonId, params: card.local });
    card.local = {};
  } catch (err) { $("#composer-error").textContent = err.message; }
}

function chart(card, index) {
  // The update times of one card: a tick per version on a line from the first to the last.
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "card-chart"); svg.setAttribute("viewBox", "0 0 400 28");
  svg.setAttribute("preserveAspectRatio", "none");
  const ts = card.versions.map((v) => (v ? v.t : 0));
  const t0 = ts[0], span = Math.max(ts[ts.length - 1] - t0, 0.001);
  const axis = document.createElementNS(ns, "line");
  Object.entries({ x1: 4, x2: 396, y1: 22, y2: 22, class: "axis" }).forEach(([k, v]) => axis.setAttribute(k, v));
  svg.append(axis);
  ts.forEach((tv, i) => {
    const x = 4 + (392 * (tv - t0)) / span;
    const tick = document.createElementNS(ns, "line");
    Object.entries({ x1: x, x2: x, y1: 4, y2: 22, class: i === index ? "tick current" : "tick" }).forEach(([k, v]) => tick.setAttribute(k, v));
    const tip = document.createElementNS(ns, "title"); tip.textContent = `v${i + 1} +${(tv - t0).toFixed(3)}s`;
    tick.append(tip); svg.append(tick);
  });
  return svg;
}

function renderCard(id) {
  const card = S.cards.get(id);
  const node = el("div", { class: "card", "data-card-id": id });
  const versions = card.versions.filter(Boolean);
  if (!versions.length) return node;
  const latest = card.versions.length - 1;
  const index = card.shown == null ? latest : card.shown;
  const v = card.versions[index] || versions[versions.length - 1];
  const data = v.cardData || {};
  node.dataset.version = String(index + 1);
  node.dataset.final = String(!!(data.contents || []).find((c) => c && c.id === "feedback"));
  // a template card is drawn in every version, with the user's private data of then
  node.append(card.meta.drawn ? renderTemplate(card, card.shown == null ? null : index + 1)
    : card.meta.cardKind === "instance" ? renderInstance(card, data) : renderStandard(card, data));
  const t0 = card.versions[0] ? card.versions[0].t : v.t;
  const hist = el("div", { class: "card-history" },
    el("div", { class: "row" },
      el("button", { type: "button", class: "prev", text: "‹", "aria-label": t("prevVersion"), onclick: () => step(id, -1) }),
      el("span", { class: "version-label", text: `${t("version")} ${index + 1}/${card.versions.length} · +${(v.t - t0).toFixed(3)}s · ${v.via}` }),
      el("button", { type: "button", class: "next", text: "›", "aria-label": t("nextVersion"), onclick: () => step(id, 1) }),
      card.shown == null ? null : el("button", { type: "button", class: "latest", text: t("latest"), onclick: () => { card.shown = null; updateCardNode(id); } })),
    chart(card, index));
  node.append(hist);
  return node;
}

function step(id, delta) {
  const card = S.cards.get(id);
  const last = card.versions.length - 1;
  const cur = card.shown == null ? last : card.shown;
  const next = Math.min(last, Math.max(0, cur + delta));
  card.shown = next === last ? null : next;
  updateCardNode(id);
}

function updateCardNode(id) {
  const old = S.cardNodes.get(id);
  if (!old || !old.isConnected) return;
  const fresh = renderCard(id);
  old.replaceWith(fresh);
  S.cardNodes.set(id, fresh);
}

// ---- chat ------------------------------------------------------------------------------------
function renderConvList() {
  const ul = $("#conversations");
  const focused = focusedRow("data-conversation");
  ul.replaceChildren(...[...S.convs.values()].map((c) => el("li", {
    class: c.id === S.current ? "active" : "", "data-conversation": c.id, title: c.id,
  }, el("button", {
    type: "button", "aria-current": String(c.id === S.current),
    onclick: () => { S.current = c.id; renderConvList(); renderChat(); closeDrawers(); },
  }, el("span", { text: `${c.type === "group" ? "#" : "@"} ${c.title}` }), el("span", { class: "badge", text: String(c.items.length || "") })))));
  keepFocus(ul, "data-conversation", focused);
}

function renderUsers() {
  const ul = $("#users");
  const focused = focusedRow("data-user");
  ul.replaceChildren(...[...S.users.entries()].map(([id, nick]) => el("li", {
    class: id === S.user ? "active" : "", "data-user": id,
  }, el("button", {
    type: "button", "aria-pressed": String(id === S.user), onclick: () => { S.user = id; renderUsers(); renderChat(); },  // private data differs per user
  }, el("span", { text: nick === id ? id : `${nick} (${id})` })))));
  keepFocus(ul, "data-user", focused);
  fillAtUsers();
  $("#as-user").textContent = `${t("you")} ${S.users.get(S.user) || S.user}`;
}

function renderChat() {
  const c = S.convs.get(S.current);
  if (!c) return;
  $("#chat-title").textContent = c.title;
  $("#chat-kind").textContent = t(c.type === "group" ? "group" : "single");
  $("#at-robot").disabled = c.type !== "group";
  S.cardNodes.clear();
  $("#messages").replaceChildren();
  for (const e of c.items) appendItem(e, false);
  $("#messages").scrollTop = 1e9;
}

function appendItem(e, scroll = true) {
  const box = $("#messages");
  let node;
  if (e.kind === "click") {
    node = el("div", { class: "msg note", text: `${e.who.slice(5)} ${t("clicked")} «${e.text}»` });
  } else if (e.kind === "card" && e.ref && S.cards.has(e.ref)) {
    const card = renderCard(e.ref);
    S.cardNodes.set(e.ref, card);
    node = el("div", { class: "msg bot" }, el("div", { class: "who", text: "robot" }), card);
  } else if (robotDrawing(e)) {
    node = el("div", { class: "msg bot custom", "data-kind": e.kind }, el("div", { class: "who", text: "robot" }), robotDrawing(e));
  } else if (e.kind.startsWith("custom:") && e.data) {
    node = el("div", { class: "msg bot custom", "data-kind": e.kind },
      el("div", { class: "who", text: e.data.robot || "custom robot" }), renderCustom(e.kind.slice(7), e.data));
  } else {
    const mine = e.who.startsWith("user:");
    const who = mine ? S.users.get(e.who.slice(5)) || e.who.slice(5) : "robot";
    const body = mine ? el("div", { class: "bubble", text: e.text }) : el("div", { class: "bubble" }, markdown(e.text));
    node = el("div", { class: `msg ${mine ? "mine" : "bot"}`, "data-kind": e.kind }, el("div", { class: "who", text: who }), body);
  }
  box.append(node);
  markInspectable(node, e);
  drawUpload(node, e);
  if (scroll) box.scrollTop = box.scrollHeight;
}

// A custom group robot's message as the group sees it: each msgtype's layout, its links and
// buttons (opened in a new tab when they are http(s); anything else is shown, not linked), and
// the @ chips of its `at`.
const safeUrl = (u) => (typeof u === "string" && /^https?:\/\//i.test(u) ? u : null);
function link(text, url, cls) {
  const href = safeUrl(url);
  return href ? el("a", { class: cls, href, target: "_blank", rel: "noopener noreferrer", text })
    : el("span", { class: cls, text, title: String(url || "") });
}
function renderCustom(msgtype, data) {
  const part = data[msgtype] || {};
  const box = el("div", { class: `bubble custom-${msgtype}` });
  const str = (v) => (typeof v === "string" ? v : "");
  if (msgtype === "text") box.append(el("div", { text: str(part.content) }));
  else if (msgtype === "markdown") box.append(el("div", { class: "custom-title", text: str(part.title) }), markdown(str(part.text), "robot"));
  else if (msgtype === "link") {
    box.append(link(str(part.title), part.messageUrl, "custom-title"), el("div", { text: str(part.text) }));
    if (safeUrl(part.picUrl)) box.append(el("img", { src: part.picUrl, alt: "", class: "custom-pic" }));
  } else if (msgtype === "actionCard") {
    box.append(el("div", { class: "custom-title", text: str(part.title) }), markdown(str(part.text), "robot"));
    const buttons = Array.isArray(part.btns) ? part.btns.map((b) => [str(b && b.title), b && b.actionURL])
      : part.singleTitle ? [[str(part.singleTitle), part.singleURL]] : [];
    const row = el("div", { class: `custom-buttons${part.btnOrientation === "1" ? " across" : ""}` });
    for (const [title, url] of buttons) row.append(link(title, url, "card-btn"));
    box.append(row);
  } else if (msgtype === "feedCard") {
    const links = Array.isArray(part.links) ? part.links : [];
    box.append(el("ul", { class: "custom-feed" }, ...links.map((l) => el("li", {}, link(str(l && l.title), l && l.messageURL, "")))));
  }
  const at = data.at || {};
  const chips = [...(at.isAtAll ? ["@all"] : []), ...(at.atUserIds || []).map((u) => `@${u}`), ...(at.atMobiles || []).map((m) => `@${m}`)];
  if (chips.length) box.append(el("div", { class: "custom-at" }, ...chips.map((c) => el("span", { class: "chip", text: c }))));
  return box;
}

// ---- actions -----------------------------------------------------------------------------------
async function post(path, body) {
  const r = await api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error || `${r.status}`);
  return data;
}

async function sendMessage(msgtype, text, content) {
  const c = S.convs.get(S.current);
  const body = {
    conversation: { id: c.id, type: c.type, ...(c.type === "group" ? { title: c.title } : {}) },
    sender: { staffId: S.user, nick: S.users.get(S.user) || S.user },
    msgtype, atBot: c.type !== "group" || $("#at-robot").checked,
  };
  const robot = $("#robot-picker");
  if (!robot.hidden && robot.value) body.clientId = robot.value;
  if (text != null) body.text = text;
  if (content) body.content = content;
  const mentioned = mentionsIn(text);
  if (mentioned.length && c.type === "group") body.atUsers = mentioned;
  $("#composer-error").textContent = "";
  $("#composer-note").replaceChildren();
  try { sayQueued(await post("/_fakeding/messages", body), body.clientId); } catch (err) { $("#composer-error").textContent = err.message; }
}

async function clickButton(cardId, buttonId) {
  $("#composer-error").textContent = "";
  try { await post(`/_fakeding/cards/${encodeURIComponent(cardId)}/click`, { staffId: S.user, buttonId }); } catch (err) { $("#composer-error").textContent = err.message; }
}

async function fault(spec) {
  const at = $("#fault-at").value;
  if (at !== "" && Number(at) > 0) spec.at = Number(at);
  try { const r = await post("/_fakeding/faults", spec); $("#fault-result").textContent = `${t("armed")}: ${JSON.stringify(r.armed)}`; } catch (err) { $("#fault-result").textContent = err.message; }
  refreshArmed();
}

// ---- side panes ----------------------------------------------------------------------------------
const FILTERS = {
  stream: ["push", "ack", "redeliver", "queued"], connection: ["connect", "disconnect"],
};
function matches(r, f) {
  if (!f) return true;
  if (FILTERS[f]) return FILTERS[f].includes(r.kind);
  if (f === "card" || f === "bot") return r.kind.startsWith(`${f}.`);
  return r.kind === f;
}
const TIMELINE_ROWS = 600;  // the newest rows that match; the rest stay in memory
function scheduleTimeline() {
  if (S.timelineFrame) return;
  S.timelineFrame = requestAnimationFrame(() => { S.timelineFrame = 0; if (S.dirtyTimeline) renderTimeline(); });
}
function renderTimeline() {
  S.dirtyTimeline = false;
  const f = $("#timeline-filter").value;
  const rows = [];
  const find = findFilter();
  for (let i = S.records.length - 1; i >= 0 && rows.length < TIMELINE_ROWS; i -= 1) {
    const r = S.records[i];
    if (matches(r, f) && find(r)) rows.push(r);
  }
  rows.reverse();
  const box = $("#timeline");
  const atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 30;
  box.replaceChildren(...rows.map(timelineRow));
  if (atEnd) box.scrollTop = box.scrollHeight;
  updateCount();
}
function updateCount() {
  $("#timeline-count").textContent = S.paused ? t("paused", { n: S.pending }) : t("events", { n: S.records.length + (S.older || 0) });
  const older = $("#timeline-older");
  older.hidden = !S.older; older.textContent = t("older", { n: Math.min(S.older || 0, 500) });
}

async function refreshConnections() {
  try { renderConnections(await (await api("/_fakeding/connections")).json()); } catch (_) { /* next event retries */ }
  refreshApps();
}
// With several apps registered, the composer picks which robot a message is for (@mentions).
async function refreshApps() {
  let apps;
  try { apps = await (await api("/_fakeding/apps")).json(); } catch (_) { return; }
  const pick = $("#robot-picker");
  const ids = apps.map((a) => a.clientId);
  if (ids.join() === [...pick.options].map((o) => o.value).join()) return;
  const chosen = ids.includes(pick.value) ? pick.value : ids[0];
  pick.replaceChildren(...ids.map((id) => el("option", { value: id, text: `@${id}` })));
  pick.value = chosen || "";
  pick.hidden = ids.length < 2;
}
function renderConnections(list) {
  S.conns = list; renderRobots(list);
  const ul = $("#connections");
  if (!list.length) { ul.replaceChildren(el("li", { class: "muted", text: t("noConnections") })); return; }
  ul.replaceChildren(...list.map((c) => el("li", { "data-connection": c.id },
    el("b", { class: `state-${c.state}`, text: c.state }), ` ${c.client} · ${c.id} · +${c.opened.toFixed(3)}s`)));
}

function renderSettings() {
  // Every setting, typed, with what it does and its default: from the table the control API
  // checks against (/_fakeding/settings/knobs), with the values now (GET /_fakeding/settings).
  loadSettings().catch((err) => { $("#settings-result").textContent = err.message; });
}
async function loadSettings() {
  if (!S.knobs) S.knobs = await (await api("/_fakeding/settings/knobs")).json();
  S.settingValues = await (await api("/_fakeding/settings")).json();
  drawSettings();
}
function knobInput(k, v) {
  const id = `set-${k.name}`, help = `help-${k.name}`;
  const common = { id, name: k.name, "data-kind": k.kind, "aria-describedby": help };
  if (k.kind === "boolean") { const box = el("input", { type: "checkbox", ...common }); box.checked = !!v; return box; }
  if (k.kind === "number" || k.kind === "integer") {
    return el("input", { type: "number", min: "0", step: k.kind === "integer" ? "1" : "any", value: v == null ? "" : String(v), placeholder: k.nullable ? t("off") : "", ...common });
  }
  if (k.kind === "object") return el("textarea", { rows: "2", ...common, text: JSON.stringify(v ?? {}) });
  return el("input", { type: "text", value: v == null ? "" : String(v), ...common });
}
function drawSettings() {
  const form = $("#settings-form");
  form.replaceChildren(...S.knobs.filter((k) => !k.fixed).map((k) => el("div", { class: "knob", "data-setting": k.name },
    el("label", { for: `set-${k.name}`, text: k.name }), knobInput(k, S.settingValues[k.name]),
    el("small", { id: `help-${k.name}`, class: "muted", text: `${k.help} · ${t("default")}: ${k.default == null ? t("off") : JSON.stringify(k.default)}` }))));
}
function settingOf(input) {
  const kind = input.dataset.kind;
  if (kind === "boolean") return input.checked;
  if (kind === "object") return JSON.parse(input.value || "{}");
  if (kind === "string") return input.value;
  return input.value === "" ? null : Number(input.value);
}
async function applySettings() {
  const changes = {};
  try {
    for (const input of $("#settings-form").querySelectorAll("[data-kind]")) {
      let value;
      try { value = settingOf(input); } catch (err) { throw new Error(`${input.name}: expected JSON, found ${input.value}`); }
      if (JSON.stringify(value) !== JSON.stringify(S.settingValues[input.name])) changes[input.name] = value;
    }
    const r = await api("/_fakeding/settings", { method: "PATCH", headers: { "Content-Type": "application/json" }, body: JSON.stringify(changes) });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(data.error || `${r.status}`);
    S.settingValues = data; drawSettings();
    $("#settings-result").textContent = `${t("applied")}${Object.keys(changes).length ? `: ${Object.keys(changes).join(", ")}` : ""}`;
  } catch (err) { $("#settings-result").textContent = err.message; }
}

async function saveScenario() {
  const text = await (await api("/_fakeding/scenario")).text();
  $("#scenario-yaml").textContent = text;
  $("#scenario-download").href = URL.createObjectURL(new Blob([text], { type: "application/yaml" }));
  $("#scenario-dialog").showModal();
}

function applyLang() {
  document.documentElement.lang = S.lang === "zh" ? "zh-CN" : "en";
  for (const n of document.querySelectorAll("[data-i18n]")) n.textContent = t(n.dataset.i18n);
  for (const n of document.querySelectorAll("[data-i18n-placeholder]")) n.placeholder = t(n.dataset.i18nPlaceholder);
  $("#lang").textContent = S.lang === "zh" ? "English" : "中文";
  setLive($("#live-state").dataset.state, $("#live-state").title);
  renderUsers(); renderChat(); updateCount(); renderRobots(S.conns || []);
}

// ---- the workbench: focus, tabs, shortcuts, drawers, what is going on (issue 24) ----------------
function focusedRow(attr) {
  const row = document.activeElement && document.activeElement.closest && document.activeElement.closest(`li[${attr}]`);
  return row ? row.getAttribute(attr) : null;
}
function keepFocus(ul, attr, key) {
  // A list redrawn under the keyboard keeps focus on the same row.
  if (key == null || focusedRow(attr) === key) return;
  const same = ul.querySelector(`li[${attr}="${CSS.escape(key)}"] > button`);
  if (same) same.focus();
}

function openMostRecent(snap) {
  // The page opens on the conversation something last happened in (once; later snapshots keep
  // the reader where they are).
  if (S.opened) return;
  S.opened = true;
  const last = snap.transcript[snap.transcript.length - 1];
  if (last && S.convs.has(last.conversation)) S.current = last.conversation;
}

function announce(e) {
  // The live region says who said what in a few words; cards are announced once, when they come.
  if (e.kind === "card" && S.announced && S.announced.has(e.ref)) return;
  if (e.kind === "card") { S.announced = S.announced || new Set(); S.announced.add(e.ref); }
  const who = e.who.startsWith("user:") ? S.users.get(e.who.slice(5)) || e.who.slice(5) : t("robotName");
  const text = String(e.text || e.kind || "").replace(/\s+/g, " ").slice(0, 140);
  $("#announcer").textContent = t("said", { who, text });
}

const TABS = ["timeline", "faults", "settings", "connections", "replay"];
function selectTab(name, focus = false) {
  for (const b of document.querySelectorAll("#tabs [role=tab]")) {
    const on = b.dataset.tab === name;
    b.classList.toggle("active", on);
    b.setAttribute("aria-selected", String(on));
    b.tabIndex = on ? 0 : -1;
    if (on && focus) b.focus();
  }
  for (const p of document.querySelectorAll(".pane")) p.classList.toggle("active", p.id === `pane-${name}`);
  if (name === "faults") refreshArmed();
  if (name === "replay") refreshLibrary();
}
function wireTabs() {
  const tabs = $("#tabs");
  for (const b of tabs.querySelectorAll("[role=tab]")) b.onclick = () => selectTab(b.dataset.tab);
  tabs.addEventListener("keydown", (ev) => {
    const at = TABS.indexOf(document.activeElement && document.activeElement.dataset.tab);
    if (at < 0) return;
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: TABS.length - 1 }[ev.key];
    if (to == null) return;
    ev.preventDefault();
    selectTab(TABS[(to + TABS.length) % TABS.length], true);
  });
}

function typing(target) {
  return target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}
function onShortcut(ev) {
  if (ev.altKey && !ev.ctrlKey && !ev.metaKey && /^Digit[1-5]$/.test(ev.code)) {
    ev.preventDefault();
    const name = TABS[Number(ev.code.slice(5)) - 1];
    openDrawer("panes", true);
    selectTab(name, true);
    return;
  }
  if (ev.key === "Escape") { closeDrawers(); return; }
  if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
  if (ev.key === "/") { ev.preventDefault(); $("#composer-text").focus(); } else if (ev.key === "?") { ev.preventDefault(); $("#help-dialog").showModal(); }
}
function recallLast(ev) {
  // ↑ in an empty composer brings back the last message typed in it.
  if (ev.key !== "ArrowUp" || ev.target.value !== "" || !S.lastTyped) return;
  ev.preventDefault();
  ev.target.value = S.lastTyped;
}

function openDrawer(which, on) {
  const pane = $(`#${which}`);
  const button = $(`#toggle-${which}`);
  if (getComputedStyle(button).display === "none") return;  // wide screens: no drawers
  const open = on == null ? !pane.classList.contains("open") : on;
  if (open) { closeDrawers(); pane.style.top = `${$("#topbar").getBoundingClientRect().bottom}px`; }
  pane.classList.toggle("open", open);
  button.setAttribute("aria-expanded", String(open));
  if (open && !pane.contains(document.activeElement)) {
    const first = pane.querySelector("[aria-selected=true], [aria-current=true], button, input, select");
    if (first) first.focus();
  }
}
function closeDrawers() {
  for (const which of ["sidebar", "panes"]) {
    $(`#${which}`).classList.remove("open");
    $(`#toggle-${which}`).setAttribute("aria-expanded", "false");
  }
}

function renderRobots(list) {
  // Which robots are connected, over which SDK, since when: apart from the page's own link.
  const live = list.filter((c) => c.state === "live");
  const node = $("#robots");
  S.robotsLive = live.length;
  node.dataset.state = live.length ? "live" : "none";
  if (!live.length) { node.textContent = t("noRobot"); node.title = ""; return; }
  const seen = new Map();
  for (const c of live) if (!seen.has(c.client)) seen.set(c.client, Object.assign({ ua: sdkOf(c.client) }, c));
  node.textContent = t("robotsUp", { list: [...seen.values()].map((c) => `${c.client}${c.ua ? ` · ${c.ua}` : ""} · ${t("since", { t: c.opened.toFixed(1) })}`).join(", ") });
  node.title = live.map((c) => `${c.id} ${c.client} ${c.ua || ""}`).join("\n");
}

function sdkOf(client) {
  // The SDK a robot named itself with (the gateway call's `ua`), when the timeline has it.
  for (let i = S.records.length - 1; i >= 0; i -= 1) {
    const f = S.records[i].fields;
    if (S.records[i].kind === "api" && f.client === client && String(f.route).endsWith("/gateway/connections/open")) {
      return f.request && typeof f.request.ua === "string" ? f.request.ua.slice(0, 60) : "";
    }
  }
  return "";
}

function sayQueued(answer, clientId) {
  // Nobody connected: say the message waits, and how to start a robot that will receive it.
  if (answer.delivered !== false && answer.messageId) return;
  const client = clientId || ($("#robot-picker").options[0] || {}).value || "fakeding-client";
  const cmd = `DINGTALK_OPENAPI_ENDPOINT=${location.origin} DINGTALK_CLIENT_ID=${client} DINGTALK_CLIENT_SECRET=… python -m bot run`;
  $("#composer-note").replaceChildren(el("span", { text: `${t("queued")} ` }), el("code", { text: cmd }));
}

function wireWorkbench() {
  document.addEventListener("keydown", onShortcut);
  $("#composer-text").addEventListener("keydown", recallLast);
  $("#composer").addEventListener("submit", () => { const v = $("#composer-text").value; if (v.trim()) S.lastTyped = v; }, true);
  $("#help").onclick = () => $("#help-dialog").showModal();
  $("#help-close").onclick = () => $("#help-dialog").close();
  $("#toggle-sidebar").onclick = () => openDrawer("sidebar");
  $("#toggle-panes").onclick = () => openDrawer("panes");
  $("#chat").addEventListener("pointerdown", closeDrawers);
  renderRobots([]);
}

// ---- find anything: the timeline's search, filters, rows that expand, export (issue 24) ------
function recordFacts(r) {
  // The conversation, user, card and message a record is about, whatever its kind names them.
  const f = r.fields || {}, req = f.request && typeof f.request === "object" ? f.request : {};
  const msg = f.msgId || f.key || f.msg || null;
  const card = f.card || req.cardBizId || req.outTrackId || null;
  const cardMeta = card && S.cards.get(card) ? S.cards.get(card).meta : {};
  const said = msg && S.msgs ? S.msgs.get(msg) : null;
  return {
    msg, card,
    conv: f.conversation || req.openConversationId || cardMeta.conversation || (said && said.conversation) || null,
    user: f.sender || f.user || f.staffId || (said && said.sender) || null,
  };
}
function isError(r) {
  const f = r.fields || {};
  return r.kind === "violation" || (r.kind === "api" && Number(f.status) >= 400)
    || (r.kind === "ack" && f.code != null && Number(f.code) !== 200) || /error|fail/.test(r.kind);
}
function findFilter() {
  const text = $("#timeline-search").value.trim().toLowerCase();
  const conv = $("#timeline-conv").value, user = $("#timeline-user").value, card = $("#timeline-card").value;
  const errors = $("#timeline-errors").checked;
  if (!text && !conv && !user && !card && !errors) return () => true;
  return (r) => {
    if (errors && !isError(r)) return false;
    if (conv || user || card) {
      const facts = recordFacts(r);
      if ((conv && facts.conv !== conv) || (user && facts.user !== user) || (card && facts.card !== card)) return false;
    }
    return !text || `${r.kind} ${r.line} ${JSON.stringify(r.fields)}`.toLowerCase().includes(text);
  };
}
function stamp(r) { return `+${(r.t - (S.since || 0)).toFixed(3)}s`; }
function timelineRow(r) {
  // A row shows its line whole when opened, with every field and a way into the inspector.
  const err = isError(r);
  const row = el("details", {
    class: `ev ${r.kind.replace(/\./g, "-")} ${r.kind === "violation" ? "violation" : ""} ${r.kind === "fault" ? "fault" : ""} ${r.kind === "click" ? "click" : ""} ${err ? "err" : ""} ${r.quiet ? "quiet" : ""}`,
    "data-kind": r.kind, "data-seq": r.seq,
  }, el("summary", {}, el("span", { class: "t", text: stamp(r) }), el("span", { text: r.kind === "violation" ? `⚠ ${r.line}` : r.line })));
  row.addEventListener("toggle", () => {
    if (!row.open || row.querySelector("pre")) return;
    row.append(el("pre", { class: "fields", text: JSON.stringify(masked(r.fields), null, 2) }),
      el("button", { type: "button", class: "inspect", text: t("inspect"), onclick: () => inspectRecord(r) }));
  });
  return row;
}
function refreshFindOptions() {
  // The filter choices follow what the run has: conversations, users, cards.
  const fill = (sel, values, label) => {
    const node = $(sel), keep = node.value;
    const want = ["", ...values];
    if (want.join("\n") === [...node.options].map((o) => o.value).join("\n")) return;
    node.replaceChildren(el("option", { value: "", text: t(label) }), ...values.map((v) => el("option", { value: v, text: v.length > 24 ? `${v.slice(0, 10)}…${v.slice(-8)}` : v })));
    node.value = want.includes(keep) ? keep : "";
  };
  fill("#timeline-conv", [...S.convs.keys()], "allConvs");
  fill("#timeline-user", [...S.users.keys()], "allUsers");
  fill("#timeline-card", [...S.cards.keys()], "allCards");
}
function exportTimeline() {
  const find = findFilter(), f = $("#timeline-filter").value;
  const rows = S.records.filter((r) => matches(r, f) && find(r)).map((r) => ({ seq: r.seq, t: r.t, kind: r.kind, line: r.line, fields: r.fields }));
  const a = el("a", { href: URL.createObjectURL(new Blob([JSON.stringify(rows, null, 2)], { type: "application/json" })), download: "fakeding-timeline.json" });
  document.body.append(a); a.click(); a.remove();
}
async function loadOlder() {
  const first = S.records.length ? S.records[0].seq : S.lastSeq + 1;
  let page;
  try { page = await (await api(`/_fakeding/records?before=${first}&limit=500`)).json(); } catch (_) { return; }
  if (!Array.isArray(page)) return;
  S.records.unshift(...page);
  page.forEach(noteMessage);
  S.older = Math.max(0, (S.older || 0) - page.length);
  if (!page.length) S.older = 0;
  S.dirtyTimeline = true; scheduleTimeline();
}
function noteMessage(r) {
  // msgId -> the message record, so other records (push, ack, bot.*) find their conversation.
  if (r.kind !== "message" || !r.fields.msgId) return;
  S.msgs = S.msgs || new Map();
  S.msgs.set(r.fields.msgId, Object.assign({ seq: r.seq, t: r.t }, r.fields));
}

// ---- the inspector: what happened to one message, in order (issue 24) -----------------------
const SECRET_KEY = /secret|token|password|sign$/i;
function masked(v, key = "") {
  if (typeof v === "string") return SECRET_KEY.test(key) && v && !v.includes("***") ? `${v.slice(0, 4)}…***` : v;
  if (Array.isArray(v)) return v.map((x) => masked(x, key));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, masked(x, k)]));
  return v;
}
function json(v) {
  if (typeof v === "string") { try { v = JSON.parse(v); } catch (_) { return v; } }
  return JSON.stringify(masked(v), null, 2);
}
function relatedTo(msgId) {
  // Everything recorded about one message: its delivery, the cards it produced (the robot's own
  // bot.* records name them; otherwise the cards sent to its conversation until the next
  // message there), the OpenAPI calls about those cards or the message, and violations.
  const msg = S.msgs && S.msgs.get(msgId);
  const cards = new Set();
  for (const r of S.records) if (r.fields && r.fields.msg === msgId && r.fields.card) cards.add(r.fields.card);
  if (msg && !cards.size) {
    const next = S.records.find((r) => r.seq > msg.seq && r.kind === "message" && r.fields.conversation === msg.conversation);
    for (const r of S.records) {
      if (r.seq > msg.seq && (!next || r.seq < next.seq) && r.kind === "card.send" && r.fields.conversation === msg.conversation) cards.add(r.fields.card);
    }
  }
  const mentions = (r) => {
    const text = JSON.stringify(r.fields);
    return text.includes(msgId) || [...cards].some((c) => text.includes(c));
  };
  const out = { msg, cards, delivery: [], api: [], violations: [] };
  let lastApi = null;
  for (const r of S.records) {
    if (["push", "redeliver", "queued", "ack"].includes(r.kind) && r.fields.key === msgId) out.delivery.push(r);
    else if ((r.kind === "api" || r.kind === "webhook") && mentions(r)) { out.api.push(r); lastApi = r; } else if (r.kind === "violation" && (mentions(r) || (lastApi && r.seq === lastApi.seq + 1))) out.violations.push(r);
    else if (r.kind.startsWith("bot.") && r.fields.msg === msgId && /error|fail|warn/.test(r.kind)) out.violations.push(r);
  }
  return out;
}
function section(title, ...kids) {
  return el("section", { class: "inspector-part" }, el("h3", { text: title }), ...(kids.length ? kids : [el("p", { class: "muted", text: t("none") })]));
}
function recordLine(r) { return el("div", { class: `ev-line ${isError(r) ? "err" : ""}`, "data-kind": r.kind }, el("span", { class: "t", text: `${stamp(r)} ` }), r.line); }
function stepFor(msg) {
  const said = (S.convs.get(msg.conversation) || { items: [] }).items.find((e) => e.ref === msg.msgId);
  const lines = ["- say:", `    user: ${msg.sender}`, `    in: ${msg.conversation}  # a conversation of the scenario`];
  if (msg.msgtype === "text") lines.push(`    text: ${JSON.stringify(said ? said.text : "")}`);
  else lines.push(`    msgtype: ${msg.msgtype}`);
  if (msg.atBot === false) lines.push("    atBot: false");
  return lines.join("\n");
}
async function inspectMessage(msgId) {
  const rel = relatedTo(msgId);
  const body = $("#inspector-body");
  const dialog = $("#inspector");
  dialog.dataset.msg = msgId;
  body.replaceChildren(el("p", { class: "muted", text: "…" }));
  if (!dialog.open) dialog.show();
  let frames = [];
  try { frames = await (await api(`/_fakeding/frames?key=${encodeURIComponent(msgId)}`)).json(); } catch (_) { /* shown as none */ }
  const msg = rel.msg;
  const parts = [];
  parts.push(section(t("iMessage"), ...(msg ? [el("pre", { class: "fields", text: json(msg) })] : [])));
  parts.push(section(t("iFrames"), ...(Array.isArray(frames) ? frames : []).map((f) => el("details", { class: "frame", open: "" },
    el("summary", { text: `#${f.attempt} ${f.frame.headers.messageId} → ${f.frame.headers.connectionId || ""} ${f.acked ? "✓" : ""}` }),
    el("div", { class: "muted", text: t("headers") }), el("pre", { class: "frame-headers", text: json(f.frame.headers) }),
    el("div", { class: "muted", text: t("data") }), el("pre", { class: "frame-data", text: json(f.data) })))));
  parts.push(section(t("iDelivery"), ...rel.delivery.map(recordLine)));
  parts.push(section(t("iApi"), ...rel.api.map((r) => el("details", { class: `api-call ${isError(r) ? "err" : ""}`, "data-route": r.fields.route || r.kind },
    el("summary", { text: `${stamp(r)} ${r.fields.route || r.kind} → ${r.fields.status ?? ""}` }),
    el("div", { class: "muted", text: t("request") }), el("pre", { class: "api-request", text: json(r.fields.request) }),
    el("div", { class: "muted", text: t("response") }), el("pre", { class: "api-response", text: json(r.fields.response) })))));
  const versions = [];
  for (const id of rel.cards) {
    const card = S.cards.get(id);
    if (!card) continue;
    card.versions.forEach((v, i) => { if (v) versions.push(el("details", { class: "card-version", "data-card-id": id }, el("summary", { text: `${id.length > 20 ? `${id.slice(0, 8)}…` : id} v${i + 1} · ${stamp(v)} · ${v.via}` }), el("pre", { text: json(v.cardData) }))); });
  }
  parts.push(section(t("iCards"), ...versions));
  parts.push(section(t("iViolations"), ...rel.violations.map(recordLine)));
  if (msg) parts.push(section(t("iStep"), el("pre", { id: "inspector-step", text: stepFor(msg) })));
  if (dialog.dataset.msg === msgId) body.replaceChildren(...parts);
}
function inspectRecord(r) {
  const facts = recordFacts(r);
  let msg = facts.msg && S.msgs && S.msgs.has(facts.msg) ? facts.msg : null;
  if (!msg && facts.card) msg = messageOfCard(facts.card);
  if (msg) { inspectMessage(msg); return; }
  const dialog = $("#inspector");
  dialog.dataset.msg = "";
  $("#inspector-body").replaceChildren(section(r.kind, recordLine(r), el("pre", { class: "fields", text: json(r.fields) })));
  if (!dialog.open) dialog.show();
}
function messageOfCard(cardId) {
  for (const r of S.records) if (r.fields && r.fields.card === cardId && r.fields.msg) return r.fields.msg;
  const sent = S.records.find((r) => r.kind === "card.send" && r.fields.card === cardId);
  if (!sent || !S.msgs) return null;
  let best = null;
  for (const m of S.msgs.values()) if (m.seq < sent.seq && m.conversation === sent.fields.conversation) best = m.msgId;
  return best;
}
function markInspectable(node, e) {
  // A message or a card in the chat opens the inspector (click, or Enter when focused).
  const msg = e.kind === "card" ? null : e.ref;
  if (!msg && !(e.kind === "card" && e.ref)) return;
  node.tabIndex = 0;
  node.classList.add("inspectable");
  node.setAttribute("aria-description", t("inspect"));
  const open = () => (msg ? inspectMessage(msg) : inspectRecord({ kind: "card", fields: { card: e.ref }, line: "", t: 0 }));
  node.addEventListener("click", (ev) => { if (!ev.target.closest("button, a, input, select")) open(); });
  node.addEventListener("keydown", (ev) => { if (ev.key === "Enter" && ev.target === node) open(); });
}
async function copyStep() {
  const step = $("#inspector-step");
  if (!step) return;
  try { await navigator.clipboard.writeText(step.textContent); } catch (_) { /* shown below anyway */ }
  $("#inspector-copy").textContent = t("copied");
  setTimeout(() => { $("#inspector-copy").textContent = t("copyStep"); }, 1500);
}
async function refreshArmed() {
  // The faults still to come, each with a way to take it back.
  let list;
  try { list = await (await api("/_fakeding/faults")).json(); } catch (_) { return; }
  if (!Array.isArray(list)) return;
  $("#faults-armed").replaceChildren(...(list.length ? list.map((f) => el("li", { "data-fault-id": f.id, "data-state": f.state },
    el("span", { text: `#${f.id} ${f.state === "waiting" ? t("waiting") : t("armed")} · ${Object.entries(f.spec).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ")}${f.fired ? ` · ${t("fired", { n: f.fired })}` : ""} ` }),
    el("button", { type: "button", class: "disarm", "aria-label": `${t("disarm")} #${f.id}`, text: t("disarm"), onclick: () => disarmFault(f.id) })))
    : [el("li", { class: "muted", text: t("none") })]));
}
async function disarmFault(id) {
  try { await post("/_fakeding/faults/disarm", { id }); } catch (err) { $("#fault-result").textContent = err.message; }
  refreshArmed();
}

// The robot's own messages drawn as the client shows them: a session-webhook reply or a
// robot-sent message (msgKey + msgParam) is found on the timeline by its time, then laid out as
// the custom robots' messages are (link, actionCard, feedCard, image).
const SAMPLE_SHAPES = {
  sampleImageMsg: (m) => ["image", { image: { picURL: m.photoURL } }],
  sampleLink: (m) => ["link", { link: { title: m.title, text: m.text, picUrl: m.picUrl, messageUrl: m.messageUrl } }],
  sampleActionCard: (m) => ["actionCard", { actionCard: { title: m.title, text: m.text, singleTitle: m.singleTitle, singleURL: m.singleURL } }],
  sampleMarkdown: (m) => ["markdown", { markdown: { title: m.title, text: m.text } }],
};
for (let n = 2; n <= 6; n += 1) {
  SAMPLE_SHAPES[`sampleActionCard${n}`] = (m) => ["actionCard", { actionCard: { title: m.title, text: m.text,
    btns: [1, 2, 3, 4, 5, 6].filter((i) => m[`actionTitle${i}`]).map((i) => ({ title: m[`actionTitle${i}`], actionURL: m[`actionURL${i}`] })) } }];
}
function robotDrawing(e) {
  if (e.who !== "bot" || !/^(webhook|robot):/.test(e.kind)) return null;
  if (e.drawn !== undefined) return e.drawn ? e.drawn.cloneNode(true) : null;
  e.drawn = null;
  for (let i = S.records.length - 1; i >= 0 && S.records[i].t >= e.t - 0.001; i -= 1) {
    const r = S.records[i], req = r.fields && r.fields.request;
    if (!req || typeof req !== "object" || Math.abs(r.t - e.t) > 0.001) continue;
    let shape = null;
    if (e.kind.startsWith("webhook:") && r.kind === "webhook" && req.msgtype === e.kind.slice(8)) shape = [req.msgtype, req];
    else if (e.kind.startsWith("robot:") && r.kind === "api" && req.msgKey === e.kind.slice(6) && SAMPLE_SHAPES[req.msgKey]) {
      try { shape = SAMPLE_SHAPES[req.msgKey](JSON.parse(req.msgParam)); } catch (_) { shape = null; }
    }
    if (!shape || shape[0] === "text") break;
    if (shape[0] === "image") {
      const url = safeUrl(shape[1].image.picURL);
      e.drawn = el("div", { class: "bubble custom-image" }, url ? el("img", { src: url, alt: "picture from the robot", class: "custom-pic" }) : el("span", { text: e.text }));
    } else e.drawn = renderCustom(shape[0], shape[1]);
    break;
  }
  return e.drawn ? e.drawn.cloneNode(true) : null;
}

// @ a user: the picker writes "@nick " into the message; those still in the text when it is
// sent go with it as atUsers (the robot sees them as the client reports them).
function fillAtUsers() {
  const pick = $("#at-user");
  const others = [...S.users.entries()].filter(([id]) => id !== S.user);
  pick.replaceChildren(el("option", { value: "", text: "@…" }), ...others.map(([id, nick]) => el("option", { value: id, text: `@${nick === id ? id : `${nick} (${id})`}` })));
}
function mentionsIn(text) {
  if (!text || !S.mentions) return [];
  const out = [...S.mentions.entries()].filter(([, nick]) => text.includes(`@${nick}`)).map(([id]) => id);
  S.mentions.clear();
  return out;
}
function mentionUser(id) {
  if (!id) return;
  const nick = S.users.get(id) || id;
  S.mentions = S.mentions || new Map();
  S.mentions.set(id, nick);
  const input = $("#composer-text");
  input.value = `${input.value}${input.value && !input.value.endsWith(" ") ? " " : ""}@${nick} `;
  $("#at-user").value = "";
  input.focus();
}

function restartConversation() {
  // A fresh conversation with the same title and kind: the robot meets it with no memory.
  const c = S.convs.get(S.current);
  if (!c) return;
  const base = c.id.replace(/R\d+$/, "");
  let n = 2;
  while (S.convs.has(`${base}R${n}`)) n += 1;
  const id = `${base}R${n}`;
  ensureConv(id, c.type, c.title);
  S.current = id; renderConvList(); renderChat();
  $("#composer-text").focus();
}

async function attachFile(file) {
  // A real picture or file: its bytes kept by the fake under a download code, which the
  // message carries, so the robot downloads exactly what was picked.
  $("#composer-error").textContent = "";
  const bytes = new Uint8Array(await file.arrayBuffer());
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  let code;
  try { code = (await post("/_fakeding/files", { name: file.name, base64: btoa(bin) })).downloadCode; } catch (err) { $("#composer-error").textContent = err.message; return; }
  const picture = file.type.startsWith("image/");
  S.uploads = S.uploads || new Map();
  S.uploads.set(code, URL.createObjectURL(file));
  S.lastUpload = { code, picture };
  await sendMessage(picture ? "picture" : "file", picture ? null : file.name,
    picture ? { pictureDownloadCode: code, downloadCode: code } : { downloadCode: code, fileName: file.name, spaceId: "space001", fileId: code.slice(0, 12) });
}
function drawUpload(node, e) {
  // The page's own uploads are drawn: a picture as itself, a file with its name.
  if (!S.lastUpload || !e.who.startsWith("user:") || !["picture", "file"].includes(e.kind) || node.querySelector("img")) return;
  const { code, picture } = S.lastUpload;
  S.lastUpload = null;
  node.dataset.download = code;
  if (picture) node.querySelector(".bubble").replaceChildren(el("img", { src: S.uploads.get(code), alt: "picture sent", class: "sent-pic" }));
}
async function pushEvent() {
  let data;
  try { data = JSON.parse($("#event-data").value || "{}"); } catch (err) { $("#event-result").textContent = `data: expected JSON, found ${$("#event-data").value.slice(0, 40)}`; return; }
  try { const r = await post("/_fakeding/push", { eventType: $("#event-type").value, data }); $("#event-result").textContent = `${t("pushed")}: ${r.messageId || "queued"}`; } catch (err) { $("#event-result").textContent = err.message; }
}

function wireFind() {
  for (const id of ["#timeline-search", "#timeline-conv", "#timeline-user", "#timeline-card", "#timeline-errors"]) {
    $(id).addEventListener(id === "#timeline-search" ? "input" : "change", () => { S.dirtyTimeline = true; scheduleTimeline(); });
  }
  $("#timeline-conv").addEventListener("focus", refreshFindOptions);
  $("#timeline-user").addEventListener("focus", refreshFindOptions);
  $("#timeline-card").addEventListener("focus", refreshFindOptions);
  $("#timeline-export").onclick = exportTimeline;
  $("#attach").onclick = () => $("#attach-input").click();
  $("#attach-input").onchange = (ev) => { const f = ev.target.files[0]; ev.target.value = ""; if (f) attachFile(f); };
  $("#event-send").onclick = pushEvent;
  $("#restart-conv").onclick = restartConversation;
  $("#at-user").onchange = (ev) => mentionUser(ev.target.value);
  $("#timeline-older").onclick = loadOlder;
  $("#inspector-close").onclick = () => $("#inspector").close();
  $("#inspector-copy").onclick = copyStep;
}

// ---- wiring ------------------------------------------------------------------------------------------
function wire() {
  $("#composer").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("#composer-text");
    if (!input.value.trim()) return;
    sendMessage("text", input.value); input.value = "";
  });
  $("#send-picture").onclick = () => sendMessage("picture", null);
  $("#send-file").onclick = () => sendMessage("file", null);
  $("#add-group").onclick = () => {
    const name = prompt(t("groupName")); if (!name) return;
    const id = `cid${name.replace(/[^A-Za-z0-9]/g, "") || S.convs.size}${Date.now() % 100000}`;
    ensureConv(id, "group", name); S.current = id; renderConvList(); renderChat();
  };
  $("#add-single").onclick = () => {
    const who = prompt(t("singleWith"), S.user); if (!who) return;
    if (!S.users.has(who)) S.users.set(who, who);
    S.user = who; ensureConv(`cidDirect${who.replace(/[^A-Za-z0-9]/g, "")}`, "single", who);
    S.current = `cidDirect${who.replace(/[^A-Za-z0-9]/g, "")}`; renderUsers(); renderConvList(); renderChat();
  };
  $("#add-user").onclick = () => {
    const name = $("#new-user").value.trim(); if (!name) return;
    const id = name.replace(/\s+/g, "_");
    S.users.set(id, name); S.user = id; $("#new-user").value = ""; renderUsers(); renderChat();
  };
  wireTabs();
  for (const b of document.querySelectorAll("[data-fault]")) {
    b.onclick = () => fault(b.dataset.action ? { kind: b.dataset.fault, action: b.dataset.action } : { kind: b.dataset.fault });
  }
  $("#fault-api").onclick = () => fault({ kind: "api", route: $("#fault-route").value, status: Number($("#fault-status").value), count: Number($("#fault-count").value) || 1, ...(Number($("#fault-delay").value) > 0 ? { delay: Number($("#fault-delay").value) } : {}) });
  $("#timeline-filter").onchange = () => { S.dirtyTimeline = true; scheduleTimeline(); };
  $("#timeline-pause").onchange = (ev) => {
    S.paused = ev.target.checked;
    if (!S.paused) { S.pending = 0; S.dirtyTimeline = true; scheduleTimeline(); }
    updateCount();
  };
  $("#settings-apply").onclick = applySettings;
  $("#save-scenario").onclick = saveScenario;
  $("#scenario-close").onclick = () => $("#scenario-dialog").close();
  $("#lang").onclick = () => { S.lang = S.lang === "zh" ? "en" : "zh"; localStorage.setItem("fakeding.lang", S.lang); applyLang(); };
}

// ---- Replay: a scenario file's steps sent to the running fake (issue 24, item 5) -----------------
// The server checks the file with the scenario schema and types each step with its control
// request (POST /_fakeding/scenario/steps); the page sends them, one per Step or at their times
// with Run all, and shows under each step what the robot answered to it.
Object.assign(I18N.en, {
  replay: "Replay", replayOpen: "Load scenario…", replayStep: "Step", replayRun: "Run all", replayStop: "Stop",
  replayHere: "Load into Replay", replayHelp: "Load a scenario file (or drop one on the page): its steps go to the robots connected now, one by one or at their times.",
  replayLoaded: "{file}: {n} steps", replayDone: "all {n} steps sent", replayNext: "next: step {n} of {total}",
  replayNoCard: "card #{n} does not exist yet ({have} card(s) since the replay began): wait for the robot's answer, then Step again",
  robotAnswered: "robot", noAnswer: "no answer yet", lineN: "line {n}",
  replayServer: "On the server", replayLoad: "Load",
});
Object.assign(I18N.zh, {
  replay: "回放", replayOpen: "加载场景…", replayStep: "单步", replayRun: "全部运行", replayStop: "停止",
  replayHere: "加载到回放", replayHelp: "加载场景文件（或拖放到页面上）：它的步骤发给当前连接的机器人，逐步或按时间。",
  replayLoaded: "{file}：{n} 步", replayDone: "已发送全部 {n} 步", replayNext: "下一步：第 {n} / {total} 步",
  replayNoCard: "卡片 #{n} 还不存在（回放开始后有 {have} 张）：等机器人回答后再单步",
  robotAnswered: "机器人", noAnswer: "还没有回答", lineN: "第 {n} 行",
  replayServer: "服务器上的场景", replayLoad: "加载",
});
const R = { steps: [], setup: [], next: 0, running: false, started: false, baseCards: null, wake: null, file: "" };

async function loadScenarioText(text, name) {
  $("#replay-error").textContent = "";
  try {
    const r = await api("/_fakeding/scenario/steps", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ yaml: text, name }) });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(data.error || `${r.status}`);
    replayStop();
    Object.assign(R, { steps: data.steps, setup: data.setup, notes: data.notes, next: 0, started: false, baseCards: null, file: data.file || name });
  } catch (err) {
    $("#replay-error").textContent = err.message;  // names the line, the step and the field
  }
  drawReplay();
}
async function loadScenarioFile(file) {
  if (!file) return;
  selectTab("replay"); openDrawer("panes", true);
  loadScenarioText(await file.text(), file.name);
}

let replayTimer = null;
function scheduleReplay() {
  if (replayTimer) return;
  replayTimer = setTimeout(() => { replayTimer = null; drawReplay(); }, 120);
}
function cardsSinceStart() {
  return [...S.cards.keys()].filter((id) => R.baseCards && !R.baseCards.has(id));
}
function cardText(id) {
  if (!S.cards.has(id)) return "";
  const node = renderCard(id);
  const hist = node.querySelector(".card-history");
  if (hist) hist.remove();
  const parts = [];  // each text apart: a detached node has no layout for innerText to use
  const walk = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) parts.push(walk.currentNode.nodeValue);
  return parts.join(" ").replace(/\s+/g, " ").trim();
}
function answersTo(s) {
  // What the robot said in the step's conversation after the step, until the next step there.
  if (s.kind === "click" && s.cardId) return [cardText(s.cardId)].filter(Boolean);
  if (s.kind !== "say" || s.from == null) return [];
  const c = S.convs.get(s.conversation);
  if (!c) return [];
  const later = R.steps.find((o) => o.n > s.n && o.kind === "say" && o.conversation === s.conversation && o.from != null);
  return c.items.slice(s.from, later ? later.from : undefined).filter((e) => e.who === "bot")
    .map((e) => (e.kind === "card" && e.ref ? cardText(e.ref) : String(e.text || e.kind))).filter(Boolean);
}
function drawReplay() {
  const list = $("#replay-steps");
  const total = R.steps.length;
  list.replaceChildren(...R.steps.map((s, i) => {
    const state = s.state || (i === R.next ? "current" : "todo");
    const li = el("li", { class: `replay-step ${state}`, "data-n": String(s.n), "data-kind": s.kind, "data-state": state },
      el("div", { class: "row" },
        el("span", { class: "at", text: `+${Number(s.at).toFixed(1)}s` }),
        el("span", { class: "what", text: s.summary }),
        el("span", { class: "muted", text: t("lineN", { n: s.line }) })));
    if (i === R.next) li.setAttribute("aria-current", "step");
    if (s.note) li.append(el("div", { class: "muted note", text: s.note }));
    if (s.error) li.append(el("div", { class: "error outcome", text: s.error }));
    else if (s.state === "done") {
      const said = answersTo(s);
      const out = el("div", { class: "outcome" });
      if (s.kind === "say" || s.kind === "click") {
        if (said.length) for (const text of said) out.append(el("div", { class: "answer" }, el("b", { text: `${t("robotAnswered")}: ` }), text));
        else out.append(el("span", { class: "muted", text: t("noAnswer") }));
      } else if (s.result) out.append(el("span", { class: "muted", text: s.result }));
      li.append(out);
    }
    return li;
  }));
  $("#replay-step").disabled = R.running || R.next >= total;
  $("#replay-run").disabled = R.running || R.next >= total;
  $("#replay-stop").disabled = !R.running;
  const notes = (R.notes || []).join(" · ");
  $("#replay-status").textContent = !total ? "" : [t("replayLoaded", { file: R.file, n: total }),
    R.next >= total ? t("replayDone", { n: total }) : t("replayNext", { n: R.next + 1, total }), notes].filter(Boolean).join(" · ");
}

async function sendRequest(method, path, body) {
  const r = await api(path, { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error || `${r.status}`);
  return data;
}
function buttonOf(cardId, button) {
  // A click names its button by id, label or value, as in `fakeding scenario run`.
  const card = S.cards.get(cardId);
  const versions = card ? card.versions.filter(Boolean) : [];
  const data = versions.length ? versions[versions.length - 1].cardData || {} : {};
  for (const item of data.contents || []) {
    for (const b of (item && item.type === "action" && item.actions) || []) {
      if ([b.id, label(b), b.value].includes(button)) return b.id;
    }
  }
  return button;
}
async function replayStep() {
  const s = R.steps[R.next];
  if (!s) return false;
  if (!R.started) {
    R.started = true;
    R.baseCards = new Set(S.cards.keys());
    for (const req of R.setup || []) {
      try { await sendRequest(req.method, req.path, req.body); } catch (err) { $("#replay-error").textContent = err.message; }
    }
  }
  s.error = null;
  try {
    if (!s.request) s.result = s.note || "";
    else if (s.kind === "click") {
      const made = cardsSinceStart();
      if (made.length < s.card) { s.error = t("replayNoCard", { n: s.card, have: made.length }); drawReplay(); return false; }
      s.cardId = made[s.card - 1];
      const body = Object.assign({}, s.request.body, { buttonId: buttonOf(s.cardId, s.button) });
      await sendRequest("POST", `/_fakeding/cards/${encodeURIComponent(s.cardId)}/click`, body);
    } else {
      if (s.kind === "say") {
        const b = s.request.body.conversation;
        ensureConv(b.id, b.type, b.title);
        s.from = S.convs.get(b.id).items.length;
        if (S.current !== b.id) { S.current = b.id; renderConvList(); renderChat(); }
      }
      const answer = await sendRequest(s.request.method, s.request.path, s.request.body);
      if (s.kind === "fault") s.result = `${t("armed")}: ${JSON.stringify(answer.armed)}`;
      else if (s.kind === "event") s.result = `${t("pushed")}: ${answer.messageId || "queued"}`;
      else if (s.kind === "settings") s.result = t("applied");
    }
    s.state = "done";
  } catch (err) {
    s.state = "error"; s.error = err.message;
  }
  R.next += 1;
  drawReplay();
  return true;
}
function pause(ms) {
  return new Promise((resolve) => { R.wake = resolve; setTimeout(resolve, Math.max(0, ms)); });
}
async function replayRun() {
  if (R.running || R.next >= R.steps.length) return;
  R.running = true; drawReplay();
  const t0 = performance.now(), at0 = R.steps[R.next].at;
  while (R.running && R.next < R.steps.length) {
    const s = R.steps[R.next];
    await pause(t0 + (s.at - at0) * 1000 - performance.now());
    if (s.kind === "click") {  // a click needs its card: wait for it (30 s at most), as the runner does
      const until = performance.now() + 30000;
      while (R.running && (!R.baseCards || cardsSinceStart().length < s.card) && performance.now() < until && R.started) await pause(100);
    }
    if (!R.running) break;
    if (!(await replayStep())) break;  // a click without its card: said under the step
  }
  R.running = false; drawReplay();
}
function replayStop() {
  R.running = false;
  if (R.wake) R.wake();
}
// The folder of `fakeding serve --scenarios DIR`, read again each time the pane opens (a file
// saved meanwhile appears); each entry carries its text, loaded through the same checked route.
const LIBRARY = new Map();
async function refreshLibrary() {
  let data;
  try {
    const r = await api("/_fakeding/scenarios");
    data = await r.json();
    if (!r.ok) throw new Error(data.error || `${r.status}`);
  } catch (err) {
    $("#replay-error").textContent = `scenarios on the server: ${err.message}`;
    return;
  }
  const sel = $("#replay-files");
  const keep = sel.value;
  LIBRARY.clear();
  sel.replaceChildren();
  for (const s of data.scenarios) {
    LIBRARY.set(s.file, s);
    const o = document.createElement("option");
    o.value = s.file;
    o.textContent = s.error ? `${s.file} (${s.error})` : s.file;
    o.disabled = Boolean(s.error);
    sel.append(o);
  }
  if (LIBRARY.has(keep)) sel.value = keep;
  $("#replay-library").hidden = data.scenarios.length === 0;
}
function loadFromLibrary() {
  const s = LIBRARY.get($("#replay-files").value);
  if (s && s.yaml) loadScenarioText(s.yaml, s.file);
}
function wireReplay() {
  $("#replay-files-load").onclick = loadFromLibrary;
  $("#replay-open").onclick = () => $("#replay-file").click();
  $("#replay-file").onchange = (ev) => { const f = ev.target.files[0]; ev.target.value = ""; loadScenarioFile(f); };
  $("#replay-step").onclick = replayStep;
  $("#replay-run").onclick = replayRun;
  $("#replay-stop").onclick = replayStop;
  $("#scenario-replay").onclick = () => {
    $("#scenario-dialog").close();
    selectTab("replay"); openDrawer("panes", true);
    loadScenarioText($("#scenario-yaml").textContent, "emulator-session.yaml");
  };
  // A scenario file dropped anywhere on the page is loaded (other files are left alone).
  const isScenario = (f) => f && /\.ya?ml$/i.test(f.name);
  document.addEventListener("dragover", (ev) => { if ([...(ev.dataTransfer.items || [])].some((i) => i.kind === "file")) ev.preventDefault(); });
  document.addEventListener("drop", (ev) => {
    const f = ev.dataTransfer && ev.dataTransfer.files[0];
    if (!f) return;
    ev.preventDefault();
    if (isScenario(f)) loadScenarioFile(f);
    else { selectTab("replay"); openDrawer("panes", true); $("#replay-error").textContent = `${f.name}: expected a scenario file (.yaml or .yml)`; }
  });
}

resetState();
wire();
wireWorkbench();
wireFind();
wireReplay();
applyLang();
connect();

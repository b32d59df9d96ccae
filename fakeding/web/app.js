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
  for (const c of snap.cards) S.cards.set(c.id, { meta: c, versions: c.versions, shown: null });
  for (const e of snap.transcript) addSay(e, false);
  for (const r of snap.records) addRecord(r, false);
  renderConvList(); renderUsers(); renderChat(); renderConnections(snap.connections);
  refreshApps();
  renderSettings(snap.settings); S.dirtyTimeline = true; scheduleTimeline();
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
  }
}

function addRecord(r, live = true) {
  if (r.seq <= S.lastSeq) return;  // already in the snapshot
  S.lastSeq = r.seq;
  S.records.push(r);
  if (r.card) {
    let card = S.cards.get(r.card.id);
    if (!card) { card = { meta: r.card, versions: [], shown: null }; S.cards.set(r.card.id, card); }
    card.meta = Object.assign(card.meta, r.card);
    card.versions[r.card.version - 1] = { t: r.card.t, via: r.card.via, cardData: r.card.cardData };
    if (live) updateCardNode(r.card.id);
  }
  if (!live) return;
  if (r.kind === "connect" || r.kind === "disconnect" || (r.kind === "fault" && !r.fields.fired)) refreshConnections();
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
// The same rules as fakeding/templates/markdown.py (DingTalk's subset per surface: "ai" ignores
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
  const blocks = []; let para = []; let fenced = false;
  const flush = () => { if (para.length) blocks.push(`<p>${para.map(inline).join(surface === "ai" ? " " : "<br>")}</p>`); para = []; };
  for (const line of String(text).replace(/\r\n/g, "\n").split("\n")) {
    const fence = /^\s*(```|~~~)/.test(line);
    if (fence) fenced = !fenced;
    if (fenced || fence || /^\s*\|.*\|\s*$/.test(line)) { flush(); blocks.push(`<p class="literal">${esc(line)}</p>`); continue; }
    if (!line.trim()) { flush(); continue; }
    let m;
    if ((m = line.match(/^(#{1,6})\s+(.*)$/))) { flush(); blocks.push(`<h${m[1].length}>${inline(m[2])}</h${m[1].length}>`); }
    else if ((m = line.match(/^\s*(?:[-*+]|\d+\.)\s+(.*)$/))) { flush(); blocks.push(`<li>${inline(m[1])}</li>`); }
    else if ((m = line.match(/^>\s?(.*)$/))) { flush(); blocks.push(`<blockquote>${inline(m[1])}</blockquote>`); }
    else para.push(line);
  }
  flush();
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
// Only the latest version is drawn from the template (history shows the data); inputs keep
// what the user typed in card.local, sent as their local input when a button is tapped.
function renderTemplate(card) {
  const node = el("div", { class: "card-inner card-template" });
  const body = el("div", { class: "card-body" });
  node.append(body);
  const local = card.local || (card.local = {});
  const q = new URLSearchParams({ user: S.user });
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
    } else body.append(el("div", { class: "muted", text: `[${n.kind} ${n.text}]` }));
  }
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
  const drawn = card.meta.drawn && card.shown == null;
  node.append(drawn ? renderTemplate(card) : card.meta.cardKind === "instance" ? renderInstance(card, data) : renderStandard(card, data));
  const t0 = card.versions[0] ? card.versions[0].t : v.t;
  const hist = el("div", { class: "card-history" },
    el("div", { class: "row" },
      el("button", { type: "button", class: "prev", text: "‹", onclick: () => step(id, -1) }),
      el("span", { class: "version-label", text: `${t("version")} ${index + 1}/${card.versions.length} · +${(v.t - t0).toFixed(3)}s · ${v.via}` }),
      el("button", { type: "button", class: "next", text: "›", onclick: () => step(id, 1) }),
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
  ul.replaceChildren(...[...S.convs.values()].map((c) => el("li", {
    class: c.id === S.current ? "active" : "", "data-conversation": c.id, title: c.id,
    onclick: () => { S.current = c.id; renderConvList(); renderChat(); },
  }, el("span", { text: `${c.type === "group" ? "#" : "@"} ${c.title}` }), el("span", { class: "badge", text: String(c.items.length || "") }))));
}

function renderUsers() {
  const ul = $("#users");
  ul.replaceChildren(...[...S.users.entries()].map(([id, nick]) => el("li", {
    class: id === S.user ? "active" : "", "data-user": id,
    onclick: () => { S.user = id; renderUsers(); renderChat(); },  // private data differs per user
  }, el("span", { text: nick === id ? id : `${nick} (${id})` }))));
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

async function sendMessage(msgtype, text) {
  const c = S.convs.get(S.current);
  const body = {
    conversation: { id: c.id, type: c.type, ...(c.type === "group" ? { title: c.title } : {}) },
    sender: { staffId: S.user, nick: S.users.get(S.user) || S.user },
    msgtype, atBot: c.type !== "group" || $("#at-robot").checked,
  };
  const robot = $("#robot-picker");
  if (!robot.hidden && robot.value) body.clientId = robot.value;
  if (text != null) body.text = text;
  $("#composer-error").textContent = "";
  try { await post("/_fakeding/messages", body); } catch (err) { $("#composer-error").textContent = err.message; }
}

async function clickButton(cardId, buttonId) {
  $("#composer-error").textContent = "";
  try { await post(`/_fakeding/cards/${encodeURIComponent(cardId)}/click`, { staffId: S.user, buttonId }); } catch (err) { $("#composer-error").textContent = err.message; }
}

async function fault(spec) {
  try { const r = await post("/_fakeding/faults", spec); $("#fault-result").textContent = `${t("armed")}: ${JSON.stringify(r.armed)}`; } catch (err) { $("#fault-result").textContent = err.message; }
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
  for (let i = S.records.length - 1; i >= 0 && rows.length < TIMELINE_ROWS; i -= 1) {
    const r = S.records[i];
    if (matches(r, f)) rows.push(r);
  }
  rows.reverse();
  const box = $("#timeline");
  const atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 30;
  box.replaceChildren(...rows.map((r) => el("div", {
    class: `ev ${r.kind.replace(/\./g, "-")} ${r.kind === "violation" ? "violation" : ""} ${r.kind === "fault" ? "fault" : ""} ${r.kind === "click" ? "click" : ""}`,
    "data-kind": r.kind, "data-seq": r.seq, title: JSON.stringify(r.fields),
  }, el("span", { class: "t", text: `+${r.t.toFixed(3)}s` }), el("span", { text: r.kind === "violation" ? `⚠ ${r.line}` : r.line }))));
  if (atEnd) box.scrollTop = box.scrollHeight;
  updateCount();
}
function updateCount() {
  $("#timeline-count").textContent = S.paused ? t("paused", { n: S.pending }) : t("events", { n: S.records.length });
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
  const ul = $("#connections");
  if (!list.length) { ul.replaceChildren(el("li", { class: "muted", text: t("noConnections") })); return; }
  ul.replaceChildren(...list.map((c) => el("li", { "data-connection": c.id },
    el("b", { class: `state-${c.state}`, text: c.state }), ` ${c.client} · ${c.id} · +${c.opened.toFixed(3)}s`)));
}

const NULLABLE = ["qps_limit", "redelivery_delay", "webhook_per_minute", "card_param_value_max_bytes", "interactive_card_max_bytes", "stream_content_max_bytes"];
function renderSettings(settings) {
  const form = $("#settings-form");
  form.replaceChildren(...Object.entries(settings).map(([k, v]) => {
    const input = typeof v === "boolean"
      ? el("input", { type: "checkbox", name: k, "data-kind": "bool" })
      : el("input", { type: "number", name: k, step: "any", min: "0", value: v == null ? "" : String(v), placeholder: t("off") });
    if (typeof v === "boolean") input.checked = v;
    return el("label", {}, el("span", { text: k }), input);
  }));
}
async function applySettings() {
  const changes = {};
  for (const input of $("#settings-form").querySelectorAll("input")) {
    if (input.dataset.kind === "bool") changes[input.name] = input.checked;
    else if (input.value === "") { if (NULLABLE.includes(input.name)) changes[input.name] = null; }
    else changes[input.name] = Number(input.value);
  }
  try { renderSettings(await post("/_fakeding/settings", changes)); $("#settings-result").textContent = t("applied"); } catch (err) { $("#settings-result").textContent = err.message; }
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
  renderUsers(); renderChat(); updateCount();
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
  for (const b of document.querySelectorAll("#tabs button")) {
    b.onclick = () => {
      for (const x of document.querySelectorAll("#tabs button")) x.classList.toggle("active", x === b);
      for (const p of document.querySelectorAll(".pane")) p.classList.toggle("active", p.id === `pane-${b.dataset.tab}`);
    };
  }
  for (const b of document.querySelectorAll("[data-fault]")) {
    b.onclick = () => fault(b.dataset.action ? { kind: b.dataset.fault, action: b.dataset.action } : { kind: b.dataset.fault });
  }
  $("#fault-api").onclick = () => fault({ kind: "api", route: $("#fault-route").value, status: Number($("#fault-status").value), count: Number($("#fault-count").value) || 1 });
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

resetState();
wire();
applyLang();
connect();

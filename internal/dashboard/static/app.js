// kubelite dashboard: lists, then watches, the v1beta1 API of this origin.
"use strict";
(function () {
  const API = "/api/v1beta1";
  const RESOURCES = ["minions", "pods", "replicationControllers", "services", "endpoints", "events"];
  // A browser opens at most 6 HTTP/1.1 connections to a host (the API's
  // plain port has no HTTP/2), and each watch holds one: these are listed
  // every POLL_MS instead, leaving connections for logs and scaling.
  const POLLED = new Set(["endpoints", "events"]);
  const POLL_MS = 2000;
  const TOKEN_KEY = "kubelite-token";
  const state = {};
  RESOURCES.forEach(function (r) { state[r] = new Map(); });
  const live = new Set();
  const fresh = new Set(); // keys changed since the last render: rows flash
  let token = sessionStorage.getItem(TOKEN_KEY) || "";
  let generation = 0; // bumped on sign-in and sign-out: older loops stop
  let aborts = [];
  let filter = [];
  let renderQueued = false;
  let lastError = "";

  const $ = function (id) { return document.getElementById(id); };

  // el builds an element; children are nodes or text (never HTML).
  function el(tag, attrs) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) {
      if (k === "onclick") e.addEventListener("click", attrs[k]);
      else if (k === "class") e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    for (let i = 2; i < arguments.length; i++) {
      const c = arguments[i];
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  async function api(path, opts) {
    opts = opts || {};
    const headers = Object.assign({ "Accept": "application/json" }, opts.headers || {});
    if (token) headers["Authorization"] = "Bearer " + token;
    const r = await fetch(path, Object.assign({}, opts, { headers: headers, cache: "no-store", credentials: "omit" }));
    if (!r.ok) {
      let msg = r.status + " " + r.statusText;
      try { const s = await r.json(); if (s && s.message) msg = r.status + ": " + s.message; } catch (e) { /* not JSON */ }
      const err = new Error(msg);
      err.status = r.status;
      throw err;
    }
    return r;
  }

  function key(o) { return (o.namespace || "") + "/" + o.id; }

  // follow keeps state[res] equal to the API's: list, then watch from the
  // list's resourceVersion; when the watch ends, list again.
  async function follow(res, gen) {
    let delay = 500;
    while (gen === generation) {
      try {
        const list = await (await api(API + "/" + res + "?namespace=")).json();
        if (gen !== generation) return;
        const m = new Map();
        (list.items || []).forEach(function (o) { m.set(key(o), o); });
        state[res] = m;
        live.add(res);
        clearError(res);
        schedule();
        if (POLLED.has(res)) await sleep(POLL_MS);
        else await watch(res, list.resourceVersion || 0, gen);
        delay = 500;
      } catch (e) {
        if (gen !== generation) return;
        live.delete(res);
        if (e.status === 401 || e.status === 403) {
          showError(res, e.message + (token ? "" : " (sign in with a bearer token: `kubelite kubeconfig` on the master prints the admin's)"));
        } else {
          showError(res, res + ": " + e.message);
        }
        schedule();
        await sleep(delay);
        delay = Math.min(delay * 2, 10000);
      }
    }
  }

  async function watch(res, rv, gen) {
    const ctrl = new AbortController();
    aborts.push(ctrl);
    const r = await api(API + "/watch/" + res + "?namespace=&resourceVersion=" + encodeURIComponent(rv), { signal: ctrl.signal });
    const reader = r.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done || gen !== generation) return;
      buf += dec.decode(chunk.value, { stream: true });
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (!line) continue;
        const ev = JSON.parse(line);
        if (ev.type === "ERROR") return; // 410 Gone and the like: list again
        const o = ev.object;
        if (!o || !o.id) continue;
        const k = key(o);
        if (ev.type === "DELETED") state[res].delete(k);
        else { state[res].set(k, o); fresh.add(res + ":" + k); }
        schedule();
      }
    }
  }

  function start() {
    generation++;
    aborts.forEach(function (c) { c.abort(); });
    aborts = [];
    live.clear();
    RESOURCES.forEach(function (r) { state[r] = new Map(); follow(r, generation); });
    showWho();
    schedule();
  }

  // Label selectors: "a=b,c!=d,e" (e: the label exists).
  function parseFilter(s) {
    return s.split(",").map(function (t) { return t.trim(); }).filter(Boolean).map(function (t) {
      let m = t.match(/^([^!=]+?)\s*(!=|==|=)\s*(.*)$/);
      if (!m) return { k: t, op: "exists" };
      return { k: m[1].trim(), op: m[2] === "!=" ? "ne" : "eq", v: m[3].trim() };
    });
  }
  function matches(labels) {
    labels = labels || {};
    return filter.every(function (f) {
      if (f.op === "exists") return f.k in labels;
      if (f.op === "eq") return labels[f.k] === f.v;
      return labels[f.k] !== f.v;
    });
  }
  function selects(sel, labels) {
    if (!sel || Object.keys(sel).length === 0) return false;
    labels = labels || {};
    return Object.keys(sel).every(function (k) { return labels[k] === sel[k]; });
  }
  function selectorText(sel) { return Object.keys(sel || {}).sort().map(function (k) { return k + "=" + sel[k]; }).join(","); }
  function setFilter(text) { $("filter").value = text; filter = parseFilter(text); schedule(); }

  function age(ts) {
    if (!ts) return "";
    let s = Math.max(0, Math.floor((Date.now() - Date.parse(ts)) / 1000));
    if (s < 120) return s + "s";
    if (s < 7200) return Math.floor(s / 60) + "m";
    if (s < 172800) return Math.floor(s / 3600) + "h";
    return Math.floor(s / 86400) + "d";
  }
  function cpu(m) { return m ? (m >= 1000 ? (m / 1000).toFixed(1) : m + "m") : "0"; }
  function mem(b) {
    if (!b) return "0";
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
    return (i ? b.toFixed(1) : b) + u[i];
  }
  function byName(a, b) { return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0; }
  function sorted(res) { return Array.from(state[res].values()).sort(byName); }
  function labelChips(labels) {
    return Object.keys(labels || {}).sort().map(function (k) {
      const t = k + "=" + labels[k];
      return el("span", { class: "label", title: "filter by " + t, onclick: function () { setFilter(t); } }, t);
    });
  }
  function row(res, o) {
    const k = res + ":" + key(o);
    const tr = el("tr", { "data-key": key(o), id: res + "-" + key(o) });
    if (fresh.has(k)) tr.className = "flash";
    return tr;
  }
  function cells(tr) {
    for (let i = 1; i < arguments.length; i++) {
      const c = arguments[i];
      tr.append(c instanceof Node && c.tagName === "TD" ? c : el("td", null, c));
    }
    return tr;
  }
  function fill(id, rows, total) {
    $(id).replaceChildren.apply($(id), rows);
    $(id + "-count").textContent = total === undefined ? "" : (rows.length === total ? String(total) : rows.length + " of " + total);
  }

  function podHost(p) { return (p.desiredState && p.desiredState.host) || (p.currentState && p.currentState.host) || ""; }
  function podStatus(p) {
    const cs = p.currentState || {};
    let status = cs.status || "Pending";
    let cls = status === "Running" ? "ok" : status === "Terminated" ? "" : "warn";
    const info = cs.info || {};
    for (const n in info) {
      const w = info[n].state && info[n].state.waiting;
      if (n !== "net" && w && w.reason) { status += " (" + w.reason.split(":")[0] + ")"; cls = "bad"; break; }
    }
    if (!podHost(p) && cs.reason) { status += " (" + cs.reason + ")"; cls = "bad"; }
    return el("td", { class: cls }, status);
  }
  function restarts(p) {
    const info = (p.currentState && p.currentState.info) || {};
    let n = 0;
    for (const c in info) if (c !== "net") n += info[c].restartCount || 0;
    return n;
  }

  function showLog(p, c) {
    const host = podHost(p);
    $("log-section").hidden = false;
    $("log-title").textContent = (p.namespace || "default") + "/" + p.id + " " + c;
    $("log").textContent = "loading…";
    api(API + "/proxy/minions/" + encodeURIComponent(host) + "/containerLogs/" + encodeURIComponent(p.namespace || "default") + "/" + encodeURIComponent(p.id) + "/" + encodeURIComponent(c) + "?tail=500")
      .then(function (r) { return r.text(); })
      .then(function (t) { $("log").textContent = t || "(empty)"; })
      .catch(function (e) { $("log").textContent = e.message; });
    $("log-section").scrollIntoView();
  }

  async function scale(rc, delta) {
    for (let attempt = 0; attempt < 3; attempt++) {
      const path = API + "/replicationControllers/" + encodeURIComponent(rc.id) + "?namespace=" + encodeURIComponent(rc.namespace || "default");
      const cur = attempt === 0 ? rc : await (await api(path)).json();
      const next = JSON.parse(JSON.stringify(cur));
      next.desiredState.replicas = Math.max(0, (cur.desiredState.replicas || 0) + delta);
      try {
        await api(path, { method: "PUT", body: JSON.stringify(next), headers: { "Content-Type": "application/json" } });
        clearError("scale");
        return;
      } catch (e) {
        if (e.status !== 409) { showError("scale", "scale " + rc.id + ": " + e.message); return; }
      }
    }
    showError("scale", "scale " + rc.id + ": the controller kept changing; try again");
  }

  function render() {
    renderQueued = false;
    const pods = sorted("pods");
    const onHost = {};
    pods.forEach(function (p) {
      const h = podHost(p);
      if (!h) return;
      const a = onHost[h] || (onHost[h] = { n: 0, cpu: 0, mem: 0 });
      a.n++;
      (((p.desiredState || {}).manifest || {}).containers || []).forEach(function (c) { a.cpu += c.cpu || 0; a.mem += c.memory || 0; });
    });

    const minions = sorted("minions");
    fill("minions", minions.map(function (m) {
      const st = (m.status && m.status.condition) || "Unknown";
      const a = onHost[m.id] || { n: 0, cpu: 0, mem: 0 };
      const cap = (m.resources && m.resources.capacity) || {};
      return cells(row("minions", m),
        el("a", { id: "minion-" + m.id, onclick: function () { setFilter(""); } }, m.id),
        el("td", { class: st === "Ready" ? "ok" : "bad" }, st + (m.unschedulable ? ", unschedulable" : "")),
        m.hostIP || "",
        el("td", { class: "num" }, a.n),
        cpu(a.cpu) + " / " + (cap.cpu ? cpu(cap.cpu) : "∞"),
        mem(a.mem) + " / " + (cap.memory ? mem(cap.memory) : "∞"));
    }), minions.length);

    const shownPods = pods.filter(function (p) { return matches(p.labels); });
    fill("pods", shownPods.map(function (p) {
      const host = podHost(p);
      const containers = (((p.desiredState || {}).manifest || {}).containers || []);
      return cells(row("pods", p),
        p.id, p.namespace || "",
        podStatus(p),
        host ? el("a", { href: "#minion-" + host }, host) : el("span", { class: "warn" }, "unscheduled"),
        (p.currentState && p.currentState.podIP) || "",
        age(p.creationTimestamp),
        el("td", { class: "num" }, restarts(p)),
        el("td", null, ...labelChips(p.labels)),
        el("td", null, ...(host ? containers.map(function (c) { return el("a", { onclick: function () { showLog(p, c.name); } }, c.name + " "); }) : [])));
    }), pods.length);

    const rcs = sorted("replicationControllers");
    const shownRCs = rcs.filter(function (rc) { return matches(rc.labels) || matches((rc.desiredState || {}).replicaSelector); });
    fill("rcs", shownRCs.map(function (rc) {
      const sel = (rc.desiredState || {}).replicaSelector || {};
      const current = pods.filter(function (p) { return (p.namespace || "") === (rc.namespace || "") && selects(sel, p.labels) && ((p.currentState || {}).status !== "Terminated"); }).length;
      const desired = (rc.desiredState || {}).replicas || 0;
      const controls = token ? [
        el("button", { type: "button", title: "scale down", onclick: function () { scale(rc, -1); } }, "−"), " ",
        el("button", { type: "button", title: "scale up", onclick: function () { scale(rc, +1); } }, "+")] : [el("span", { class: "warn", title: "sign in to scale" }, "sign in")];
      return cells(row("replicationControllers", rc),
        rc.id, rc.namespace || "",
        el("td", { class: "num" }, desired),
        el("td", { class: "num " + (current === desired ? "ok" : "warn") }, current),
        el("a", { title: "show its pods", onclick: function () { setFilter(selectorText(sel)); } }, selectorText(sel)),
        el("td", null, ...controls));
    }), rcs.length);

    const svcs = sorted("services");
    const shownSvcs = svcs.filter(function (s) { return matches(s.labels) || matches(s.selector); });
    fill("services", shownSvcs.map(function (s) {
      const ep = state.endpoints.get(key(s));
      const eps = (ep && ep.endpoints) || [];
      return cells(row("services", s),
        s.id, s.namespace || "",
        (s.portalIP || "") + ":" + s.port,
        el("a", { title: "show its pods", onclick: function () { setFilter(selectorText(s.selector)); } }, selectorText(s.selector)),
        el("td", { class: eps.length ? "" : "warn" }, eps.length ? eps.join(" ") : "none"));
    }), svcs.length);

    const events = Array.from(state.events.values()).sort(function (a, b) {
      return Date.parse(b.timestamp || 0) - Date.parse(a.timestamp || 0);
    }).slice(0, 30);
    $("events").replaceChildren.apply($("events"), events.map(function (e) {
      const io = e.involvedObject || {};
      const bad = /fail|backoff|unhealthy|notready|refused/i.test(e.reason || "");
      return cells(row("events", e),
        age(e.timestamp),
        (io.kind || "") + "/" + (io.name || "") + (io.fieldPath ? " " + io.fieldPath.replace(/^.*\{(.*)\}$/, "{$1}") : ""),
        el("td", { class: bad ? "bad" : "" }, e.reason || e.status || ""),
        e.source || "",
        e.message || "");
    }));

    fresh.clear();
    showConn();
  }
  function schedule() {
    if (!renderQueued) { renderQueued = true; requestAnimationFrame(render); }
  }

  const errors = {};
  function showError(src, msg) { errors[src] = msg; paintErrors(); }
  function clearError(src) { delete errors[src]; paintErrors(); }
  function paintErrors() {
    const msgs = Array.from(new Set(Object.values(errors)));
    const text = msgs.join("\n");
    if (text === lastError) return;
    lastError = text;
    $("error").hidden = !text;
    $("error").textContent = text;
  }
  function showConn() {
    const c = $("conn");
    const n = live.size;
    c.textContent = n === RESOURCES.length ? "live" : n ? "partly live (" + n + "/" + RESOURCES.length + ")" : "not connected";
    c.className = n === RESOURCES.length ? "conn live" : "conn";
  }
  function showWho() {
    $("who").textContent = token ? "signed in" : "anonymous (reads from the master host only)";
    $("token").hidden = !!token;
    $("signin-btn").hidden = !!token;
    $("signout-btn").hidden = !token;
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("signin").addEventListener("submit", function (ev) {
      ev.preventDefault();
      token = $("token").value.trim();
      $("token").value = "";
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      start();
    });
    $("signout-btn").addEventListener("click", function () {
      token = "";
      sessionStorage.removeItem(TOKEN_KEY);
      start();
    });
    $("filter").addEventListener("input", function () { filter = parseFilter($("filter").value); schedule(); });
    $("log-close").addEventListener("click", function () { $("log-section").hidden = true; });
    setInterval(schedule, 10000); // ages move
    start();
  });
})();

// lares dashboard: search filter, and live updates from the server's event stream.
"use strict";
(function () {
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const page = document.body.dataset.page;

  const search = document.getElementById("search");
  if (search) {
    search.addEventListener("input", function () {
      const words = search.value.toLowerCase().trim().split(/\s+/).filter(Boolean);
      document.querySelectorAll(".tile").forEach(function (tile) {
        const text = tile.dataset.search || "";
        tile.hidden = !words.every(function (w) { return text.includes(w); });
      });
      document.querySelectorAll("section.stack").forEach(function (section) {
        section.hidden = !section.querySelector(".tile:not([hidden])");
      });
    });
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(function ([k, v]) { node.setAttribute(k, v); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function actionForm(action, alert, extra, label, cls) {
    const form = el("form", { method: "post", action: action });
    form.append(el("input", { type: "hidden", name: "csrf", value: csrf }));
    form.append(el("input", { type: "hidden", name: "rule", value: alert.rule }));
    form.append(el("input", { type: "hidden", name: "subject", value: alert.subject }));
    if (extra) form.append(extra);
    form.append(el("button", { type: "submit", class: cls }, label));
    return form;
  }

  function alertItem(a) {
    const li = el("li", {
      class: "alert", "data-rule": a.rule, "data-subject": a.subject,
      "data-severity": a.severity, "data-state": a.state,
    });
    const line = el("div", { class: "line" });
    line.append(el("span", { class: "sev " + a.severity }, a.severity));
    line.append(el("span", { class: "msg" }, a.message));
    const since = new Date(a.since * 1000).toLocaleString();
    line.append(el("span", { class: "since" }, a.state + " since " + since + (a.silenced ? " · silenced" : "")));
    li.append(line);
    if (a.hint) li.append(el("p", { class: "hint" }, a.hint));
    const acts = el("div", { class: "acts" });
    const duration = el("select", { name: "duration", "aria-label": "for how long" });
    ["1h", "4h", "1d", "7d"].forEach(function (d) { duration.append(el("option", {}, d)); });
    acts.append(actionForm("/actions/silence", a, duration, "Silence", "silence"));
    acts.append(actionForm("/actions/ack", a, null, "Acknowledge", "ack"));
    li.append(acts);
    if (a.children && a.children.length) {
      li.append(el("p", { class: "because" }, "Because of this:"));
      const ul = el("ul", { class: "children" });
      a.children.forEach(function (c) { ul.append(alertItem(c)); });
      li.append(ul);
    }
    return li;
  }

  // Worst first, as the server orders them: tiles by health then name, stacks by their worst
  // tile then the blueprint's order. Nodes move only when the order changes.
  const RANK = { critical: 0, warning: 1, unknown: 2, ok: 3 };
  function rank(health) {
    return health in RANK ? RANK[health] : RANK.unknown;
  }
  function reorder(box, nodes, compare) {
    const sorted = nodes.slice().sort(compare);
    if (sorted.some(function (n, i) { return n !== nodes[i]; })) box.append.apply(box, sorted);
  }
  function resort() {
    const sections = Array.from(document.querySelectorAll("section.stack"));
    sections.forEach(function (section) {
      const box = section.querySelector(".tiles");
      const tiles = Array.from(box.querySelectorAll(":scope > .tile"));
      reorder(box, tiles, function (a, b) {
        const name = a.dataset.name < b.dataset.name ? -1 : a.dataset.name > b.dataset.name ? 1 : 0;
        return rank(a.dataset.health) - rank(b.dataset.health) || name;
      });
      const worst = Math.min.apply(null, tiles.map(function (t) { return rank(t.dataset.health); }));
      section.dataset.worst = String(Math.min(worst, RANK.ok));
    });
    if (!sections.length) return;
    reorder(sections[0].parentNode, sections, function (a, b) {
      return a.dataset.worst - b.dataset.worst || a.dataset.order - b.dataset.order;
    });
  }

  function showTile(tile, health, reason) {
    tile.dataset.health = health;
    const line = tile.querySelector(".health");
    if (!line) return;
    line.querySelector(".word").textContent = health;
    let why = line.querySelector(".reason");
    if (reason && !why) {
      why = el("span", { class: "reason" });
      line.append(" ", why);
    }
    if (why) why.textContent = reason || "";
  }

  function showStatus(data) {
    document.body.dataset.version = data.version;
    const reasons = data.reasons || {};
    Object.entries(data.apps || {}).forEach(function ([app, health]) {
      document.querySelectorAll('.tile[data-app="' + CSS.escape(app) + '"]').forEach(function (tile) {
        showTile(tile, health, reasons[app]);
      });
    });
    Object.entries(data.summary || {}).forEach(function ([health, n]) {
      const count = document.querySelector('.summary [data-count="' + health + '"]');
      if (count) count.textContent = String(n);
    });
    if (document.querySelector("section.stack")) resort();
    let count = 0;
    (data.alerts || []).forEach(function (a) { count += 1 + (a.children || []).length; });
    const badge = document.getElementById("alert-count");
    if (badge) badge.textContent = String((data.alerts || []).length);
    const list = document.getElementById("alerts");
    if (list) {
      const focused = list.contains(document.activeElement);
      if (!focused) list.replaceChildren.apply(list, (data.alerts || []).map(alertItem));
      const none = document.getElementById("no-alerts");
      if (none) none.hidden = count > 0;
    }
  }

  function showJob(job) {
    const box = document.getElementById("jobs");
    if (!box) return;
    let node = box.querySelector('.job[data-job="' + CSS.escape(job.id) + '"]');
    if (!node) {
      node = el("div", { class: "job", "data-job": job.id });
      node.append(el("b", {}, job.kind), " ", el("span", { class: "state" }), " ",
        el("span", { class: "error" }), el("pre", { class: "progress" }));
      box.prepend(node);
    }
    node.dataset.state = job.state;
    node.querySelector(".state").textContent = job.state;
    const err = node.querySelector(".error");
    if (err) err.textContent = job.error || "";
    node.querySelector(".progress").textContent = (job.progress || []).join("\n");
  }

  if (page && page !== "login" && window.EventSource) {
    const source = new EventSource("/events");
    source.addEventListener("status", function (e) { showStatus(JSON.parse(e.data)); });
    source.addEventListener("job", function (e) { showJob(JSON.parse(e.data)); });
  }
})();

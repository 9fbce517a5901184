// vigil's web page: draws /api/v1/overview, follows /api/v1/live, acts with the operator's token.
// Plain JavaScript modules, no build step, nothing loaded from elsewhere (docs/web.md). Every text that
// comes from the cluster is put in the page as text (textContent), never as HTML.
import { empty, fill, h, stateWord, table } from "./dom.js";
import { CONTEXT_KEYS, makeGraphView, taskLabel } from "./graph.js";

const TOKEN_KEY = "vigil-token";
const INFINITY = 1000000;
const RECONNECT_MS = 2000;

const state = {
  overview: null,
  token: sessionStorage.getItem(TOKEN_KEY),
  detail: null, // {type: "resource"|"node", id}
  openTransitions: new Set(),
  closedTransitions: new Set(),
};

const $ = (id) => document.getElementById(id);

// -- words, as vigil status says them ---------------------------------------------------------

function time(epoch) {
  if (epoch === null || epoch === undefined) return "—";
  return new Date(epoch * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function score(value) {
  if (value >= INFINITY) return "INFINITY";
  if (value <= -INFINITY) return "-INFINITY";
  return String(value);
}

function recoveriesLeft(left) {
  return `${left} recover${left === "1" ? "y" : "ies"} left`;
}

const NODE_WORDS = {
  online: "Online", offline: "OFFLINE", standby: "standby",
  "standby-with-resources": "standby (with active resources)", maintenance: "maintenance",
  "unclean-online": "UNCLEAN (online)", "unclean-offline": "UNCLEAN (offline)", pending: "pending",
  "shutting-down": "shutting down",
};

function nodeWords(node) {
  if (node.state === "offline" && (node.standby || node.maintenance)) {
    return `OFFLINE (${node.standby ? "standby" : "maintenance"})`;
  }
  return NODE_WORDS[node.state] || node.state;
}

function nodeTone(node) {
  if (node.state.startsWith("unclean")) return "bad";
  if (node.state === "online") return "ok";
  if (node.state === "offline") return "off";
  if (node.state === "pending") return "info";
  return "warn";
}

function roleWords(rsc) {
  const words = [];
  if (rsc.orphan) words.push("ORPHANED");
  if (rsc.failed) {
    words.push("FAILED");
    if (rsc.role === "Promoted") words.push("Promoted");
  } else if (rsc.role) {
    words.push(rsc.role);
  }
  return words.join(" ");
}

function roleTone(rsc) {
  if (rsc.failed || rsc.orphan) return "bad";
  if (rsc.blocked) return "warn";
  if (rsc.role === "Stopped") return "off";
  return "ok";
}

function flags(rsc) {
  const found = [];
  if (rsc.disabled) found.push("disabled");
  if (rsc.maintenance) found.push("maintenance");
  if (rsc.blocked) found.push("blocked");
  else if (!rsc.managed && !rsc.maintenance) found.push("unmanaged");
  return found;
}

function baseId(id) {
  const match = /^(.*):\d+$/.exec(id);
  return match ? match[1] : id;
}

function contextView(context) {
  const keys = CONTEXT_KEYS.filter((key) => context && key in context);
  if (!keys.length) return h("span", { class: "empty", text: "no context" });
  return h("span", { class: "context mono" },
    keys.map((key) => h("span", {}, `${key}=`, h("b", { text: context[key] }))));
}

// -- the header -------------------------------------------------------------------------------

function renderHeader(status) {
  const instances = primitivesOf(status.resources).length;
  const parts = [
    `Current node: ${status.node}`,
    `DC: ${status.controller || "NONE"}`,
    `partition ${status.have_quorum ? "with quorum" : "WITHOUT quorum"}`,
    `${status.nodes.length} node${status.nodes.length === 1 ? "" : "s"}`,
    `${instances} resource instance${instances === 1 ? "" : "s"}`,
    `store revision ${status.revision}`,
    `updated ${time(status.now)}`,
  ];
  if (!status.stonith_enabled) parts.push("fencing disabled");
  if (status.maintenance_mode) parts.push("MAINTENANCE MODE: resources are not managed");
  $("cluster-line").textContent = parts.join(" · ");
  const banner = $("banner");
  if (status.store_problem) {
    banner.textContent = `WARNING: the store cannot record since ${time(status.store_problem.since)}: ` +
      `${status.store_problem.error}. Results and failures are not recorded or recovered until it can.`;
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
}

// -- nodes ------------------------------------------------------------------------------------

function lastFencing(fencing, node) {
  const mine = fencing.filter((entry) => entry.target === node);
  return mine.length ? mine[mine.length - 1] : null;
}

function fencingWords(entry) {
  const outcome = entry.succeeded ? "fenced" : "fencing FAILED";
  const device = entry.device ? ` by ${entry.device}` : "";
  return `${outcome}: ${entry.action}${device} at ${time(entry.completed)}`;
}

function renderNodes(status) {
  const rows = status.nodes.map((node) => {
    const fenced = lastFencing(status.fencing, node.name);
    const isController = node.name === status.controller;
    return h("tr", {},
      h("td", {}, h("button", {
        class: "link", type: "button", text: node.name, data: { key: `node:${node.name}` },
        "aria-label": `Node ${node.name}: details and actions`,
        onclick: () => openDetail("node", node.name),
      }), node.local ? h("span", { class: "badge", text: "this node" }) : null),
      h("td", {}, stateWord(nodeWords(node), nodeTone(node))),
      h("td", {}, isController ? stateWord("controller (DC)", "info") : ""),
      h("td", {}, fenced ? stateWord(fencingWords(fenced), fenced.succeeded ? "warn" : "bad") : "—"));
  });
  fill($("nodes-body"), rows.length ? table(["Node", "State", "Role", "Last fencing"], rows) :
    empty("No node configured."));
  const history = status.fencing.slice().reverse().map((entry) => h("tr", {},
    h("td", { text: time(entry.completed) }),
    h("td", { text: `${entry.action} of ${entry.target}` }),
    h("td", {}, stateWord(entry.succeeded ? "successful" : "failed", entry.succeeded ? "ok" : "bad")),
    h("td", { text: [entry.device && `device ${entry.device}`, entry.executioner && `by ${entry.executioner}`,
      entry.origin && `asked by ${entry.origin}`].filter(Boolean).join(", ") })));
  fill($("fencing-body"), history.length ?
    h("div", { class: "scroll" }, table(["When", "What", "Outcome", "How"], history)) :
    empty("No fencing recorded."));
  renderTickets(status.tickets || []);
}

// A multi-site cluster's tickets (crm_mon --tickets): shown only where there are any.
function renderTickets(tickets) {
  $("tickets-h").hidden = tickets.length === 0;
  const rows = tickets.map((ticket) => h("tr", {},
    h("td", { text: ticket.id }),
    h("td", {}, stateWord(ticket.granted ? (ticket.standby ? "granted, standby" : "granted") : "revoked",
      ticket.granted && !ticket.standby ? "ok" : "warn")),
    h("td", { text: time(ticket.last_granted) })));
  fill($("tickets-body"), rows.length ? table(["Ticket", "State", "Last granted"], rows) : null);
}

// -- resources --------------------------------------------------------------------------------

function primitivesOf(resources) {
  const found = [];
  for (const rsc of resources) {
    if (rsc.kind === "primitive") found.push(rsc);
    else found.push(...primitivesOf(rsc.members));
  }
  return found;
}

function failcountsOf(status, ids) {
  return status.failcounts.filter((count) => ids.has(count.resource) || ids.has(baseId(count.resource)));
}

function resourceName(rsc, label) {
  const id = rsc.kind === "primitive" ? baseId(rsc.id) : rsc.id;
  return h("button", {
    class: "link", type: "button", text: label, data: { key: `rsc:${rsc.id}` },
    "aria-label": `Resource ${rsc.id}: details and actions`, onclick: () => openDetail("resource", id),
  });
}

function resourceRows(status, rsc, depth) {
  const indent = depth ? `indent-${Math.min(depth, 2)}` : null;
  const shownFlags = flags(rsc).map((flag) => h("span", { class: "flag", text: `(${flag})` }));
  if (rsc.kind === "primitive") {
    const counts = failcountsOf(status, new Set([rsc.id]));
    return [h("tr", {},
      h("td", { class: indent }, resourceName(rsc, rsc.id)),
      h("td", { class: "mono", text: rsc.agent || "" }),
      h("td", {}, stateWord(roleWords(rsc), roleTone(rsc)), shownFlags),
      h("td", { text: rsc.nodes.join(", ") || "—" }),
      h("td", {}, counts.map((count) => h("div", {
        text: `${count.node}: ${recoveriesLeft(count.recoveries_left)}`,
      }))))];
  }
  const title = rsc.kind === "group" ? `Resource Group: ${rsc.id}` :
    `Clone Set: ${rsc.id} [${rsc.child}]${rsc.unique ? " (unique)" : ""}`;
  const state = rsc.failed ? stateWord("FAILED member", "bad") :
    rsc.nodes.length ? stateWord(rsc.kind === "clone" ? `Started: ${rsc.nodes.length}` : "Started", "ok") :
      stateWord("Stopped", "off");
  const head = h("tr", {},
    h("td", { class: indent }, resourceName(rsc, title)),
    h("td", { text: "" }),
    h("td", {}, state, shownFlags),
    h("td", { text: rsc.nodes.join(", ") || "—" }),
    h("td", { text: "" }));
  return [head, ...rsc.members.flatMap((member) => resourceRows(status, member, depth + 1))];
}

function renderResources(status) {
  const rows = status.resources.flatMap((rsc) => resourceRows(status, rsc, 0));
  fill($("resources-body"), rows.length ?
    table(["Resource", "Agent", "Role", "Node", "Recoveries"], rows) : empty("No resources configured."));
  $("actions-note").textContent = state.token ?
    "Logged in: open a resource or a node to act on it." :
    "Read-only: log in with the API token to act (every change needs it).";
  const pending = status.pending || [];
  fill($("pending-body"), pending.length ? [h("h3", { text: "What the scheduler would do now" }),
    h("ul", {}, pending.map((line) => h("li", { class: "mono", text: line })))] : null);
}

// -- failures ---------------------------------------------------------------------------------

function failcountView(count) {
  const threshold = count.migration_threshold;
  const bounded = threshold < INFINITY;
  const fraction = bounded ? Math.min(count.count / Math.max(threshold, 1), 1) : 0;
  const bar = h("div", { class: `bar${count.recoveries_left === "0" ? " exhausted" : ""}`, "aria-hidden": "true" },
    h("span", {}));
  bar.firstChild.style.width = `${Math.round(fraction * 100)}%`;
  const operations = count.operations.map((op) => `${op.operation}: ${op.count}`).join(", ");
  const words = `fail-count=${score(count.count)}${operations ? ` (${operations})` : ""} of ` +
    `migration-threshold=${score(threshold)}` +
    (count.last_failure ? `, last failure ${time(count.last_failure)}` : "") +
    (count.expired ? " (failure-timeout has passed: no longer counted)" : "");
  return h("div", { class: "failcount", data: { key: `fc:${count.resource}:${count.node}` } },
    h("div", {}, h("b", { text: count.resource }), ` on ${count.node}`),
    bounded ? bar : h("div", { class: "note", text: "no migration-threshold" }),
    h("div", {}, h("span", {
      class: `recoveries${count.recoveries_left === "0" ? " none" : ""}`,
      text: recoveriesLeft(count.recoveries_left),
    }), h("span", { class: "note", text: ` · ${words}` })));
}

function failedRows(actions) {
  return actions.map((action) => h("tr", {},
    h("td", { class: "mono", text: action.key }),
    h("td", { text: action.node }),
    h("td", {}, stateWord(`'${action.rc_text}' (${action.rc})`, "bad")),
    h("td", { text: action.exit_reason || "—" }),
    h("td", { text: action.status }),
    h("td", { text: time(action.last_rc_change) }),
    h("td", { text: action.exec_time_ms !== null ? `${action.exec_time_ms} ms` : "—" })));
}

function renderFailures(status) {
  const counts = status.failcounts;
  fill($("failcounts-body"), counts.length ? counts.map(failcountView) : empty("No failures."));
  const failed = status.failed_actions;
  fill($("failed-body"), failed.length ?
    table(["Operation", "Node", "Result", "Exit reason", "Status", "Last change", "Took"], failedRows(failed)) :
    empty("No failed actions."));
}

// -- transitions ------------------------------------------------------------------------------

function resultView(result, running) {
  if (!result) return h("span", { class: "empty", text: running ? "not yet run" : "not run" });
  if (result.failed) {
    return h("span", {}, stateWord(`FAILED '${result.rc_name}' (${result.rc})`, "bad"),
      result.exit_reason ? ` ${result.exit_reason}` : "");
  }
  return stateWord(result.status === "done" ? "ok" : result.status, "ok");
}

function transitionActionRows(transition) {
  const running = transition.outcome === "running";
  return transition.actions.map((action) => h("tr", {},
    h("td", { class: "mono", text: `${action.resource || ""} ${taskLabel(action.task, action.interval_ms)}` }),
    h("td", { text: action.node || "—" }),
    h("td", {}, resultView(action.result, running)),
    h("td", {}, contextView(action.context))));
}

function transitionView(transition, newest) {
  const open = state.openTransitions.has(transition.number) ||
    (newest && !state.closedTransitions.has(transition.number));
  const when = transition.finished || transition.started;
  const title = `Transition ${transition.number}: ${transition.outcome}, ${transition.action_count} ` +
    `action${transition.action_count === 1 ? "" : "s"}, at ${time(when)}`;
  const details = h("details", { class: "transition", open },
    h("summary", { text: title, data: { key: `tr:${transition.number}` } }),
    h("div", { class: "inner" },
      h("p", { class: "note", text: `after: ${transition.trigger}` }),
      transition.summary.length ?
        h("ul", { class: "summary-lines" }, transition.summary.map((line) => h("li", { class: "mono", text: line }))) :
        null,
      transition.actions.length ?
        h("div", { class: "scroll" }, table(["Action", "Node", "Result", "What the agent was told"],
          transitionActionRows(transition))) :
        empty(transition.graph_kept ? "No agent action." : "Its actions are not in the operation log."),
      transition.graph_kept ? null :
        h("p", { class: "note", text: "This transition was too large to keep its graph: the actions listed " +
          "are the ones the operation log holds." })));
  details.addEventListener("toggle", () => {
    if (details.open === Boolean(open)) return; // drawn so, not the reader's doing
    if (details.open) {
      state.openTransitions.add(transition.number);
      state.closedTransitions.delete(transition.number);
    } else {
      state.openTransitions.delete(transition.number);
      state.closedTransitions.add(transition.number);
    }
  });
  return details;
}

function renderTransitions(overview) {
  const transitions = overview.transitions;
  fill($("transitions-body"), transitions.length ?
    transitions.map((transition, index) => transitionView(transition, index === 0)) :
    empty("No transition recorded yet."));
  const graph = overview.graph;
  $("graph-h").textContent = graph ? `Order graph of transition ${graph.number}` : "Order graph";
  mainGraph.show(graph && graph.kept ? graph : null,
    graph ? `Transition ${graph.number} was too large to keep its graph.` : "No transition yet.");
}

const mainGraph = makeGraphView($("graph-area"), "main");

// -- events and attributes --------------------------------------------------------------------

const EVENT_TONES = { fencing: "bad", "recovery-exhausted": "bad", node: "warn", resource: "info",
  attribute: "off" };

function renderEvents(events) {
  if (events === null) {
    fill($("events-body"), empty("This vigil keeps no events (it is not run by vigil run)."));
    return;
  }
  fill($("events-body"), events.length ?
    h("ol", { class: "events", reversed: true }, events.map((event) => h("li", {},
      h("span", { text: time(event.at) }),
      h("span", {}, stateWord(event.kind, EVENT_TONES[event.kind] || "off")),
      h("span", { text: event.text })))) :
    empty("No events since this vigil started."));
}

function attributeTable(entries) {
  return table(["Name", "Value", "Lifetime"], entries.map((entry) => h("tr", {},
    h("td", { class: "mono", text: entry.name }),
    h("td", { class: "mono", text: entry.value }),
    h("td", { text: entry.lifetime === "forever" ? "permanent (configuration)" : "transient (until it leaves)" }))));
}

function renderAttributes(attributes) {
  const nodes = Object.keys(attributes).sort();
  fill($("attributes-body"), nodes.length ? nodes.map((node) => [
    h("h3", { text: node }),
    attributes[node].length ? h("div", { class: "scroll" }, attributeTable(attributes[node])) :
      empty("No attributes."),
  ]) : empty("No node."));
}

// -- what if ----------------------------------------------------------------------------------

const whatIfGraph = { view: null };

function setOptions(select, values) {
  const current = select.value;
  const now = [...select.options].map((option) => option.value);
  if (JSON.stringify(now) !== JSON.stringify(values)) {
    select.replaceChildren(...values.map((value) => h("option", { value, text: value })));
  }
  if (values.includes(current)) select.value = current;
}

function updateWhatIfChoices(status) {
  const primitives = [...new Set(primitivesOf(status.resources).map((rsc) => baseId(rsc.id)))];
  setOptions($("what-if-resource"), primitives);
  setOptions($("what-if-node"), status.nodes.map((node) => node.name));
}

function whatIfKindChanged() {
  const needsResource = $("what-if-kind").value === "monitor";
  $("what-if-resource-label").hidden = !needsResource;
  $("what-if-resource").disabled = !needsResource;
}

async function runWhatIf(event) {
  event.preventDefault();
  const params = new URLSearchParams({ kind: $("what-if-kind").value, node: $("what-if-node").value });
  if (params.get("kind") === "monitor") params.set("resource", $("what-if-resource").value);
  const result = $("what-if-result");
  fill(result, h("p", { text: "Planning…" }));
  let data;
  try {
    const response = await fetch(`/api/v1/what-if?${params}`, { cache: "no-store", credentials: "omit" });
    data = await response.json();
    if (!response.ok) {
      fill(result, h("p", { class: "error", text: errorText(data) }));
      return;
    }
  } catch (error) {
    fill(result, h("p", { class: "error", text: `The daemon did not answer: ${error}` }));
    return;
  }
  const actions = data.actions.filter((action) => !action.pseudo);
  const rows = actions.map((action) => h("tr", {},
    h("td", { class: "mono", text: `${action.resource || ""} ${taskLabel(action.task, action.interval)}`.trim() }),
    h("td", { text: action.node || "—" }),
    CONTEXT_KEYS.map((key) => h("td", { class: "mono", text: (action.meta || {})[key] ?? "" }))));
  const graphArea = h("div", {});
  fill(result,
    h("h3", { text: `If ${data.description}` }),
    data.summary.length ? h("ul", { class: "summary-lines" }, data.summary.map((line) => h("li", { class: "mono", text: line }))) :
      empty("The scheduler would do nothing."),
    data.notes.map((note) => h("p", { class: "note", text: note })),
    actions.length ? h("div", { class: "scroll" }, table(["Action", "Node", ...CONTEXT_KEYS], rows,
      "What each agent would be told")) : null,
    h("h3", { text: "Its order graph" }), graphArea);
  whatIfGraph.view = makeGraphView(graphArea, "whatif");
  whatIfGraph.view.show({ number: `what-if ${data.revision}`, actions: data.actions, order: data.order }, "");
}

// -- the token and actions --------------------------------------------------------------------

function errorText(data) {
  if (!data || !data.error) return "The request failed.";
  return [data.error, ...(data.details || [])].join(" — ");
}

function renderLogin() {
  const loggedIn = Boolean(state.token);
  $("login-state").textContent = loggedIn ? "Logged in with the token" : "Read-only";
  $("login-state").classList.toggle("in", loggedIn);
  $("login-button").hidden = loggedIn;
  $("logout-button").hidden = !loggedIn;
  for (const button of document.querySelectorAll("[data-action]")) {
    button.disabled = !loggedIn;
  }
  for (const note of document.querySelectorAll(".readonly-note")) note.hidden = loggedIn;
  if (state.overview) renderResources(state.overview.status);
}

function openLogin() {
  $("login-error").textContent = "";
  $("token-input").value = "";
  $("login-dialog").showModal();
  $("token-input").focus();
}

async function submitLogin(event) {
  event.preventDefault();
  const token = $("token-input").value.trim();
  if (!token) return;
  $("login-error").textContent = "Checking…";
  try {
    const response = await fetch("/api/v1/whoami", {
      headers: { Authorization: `Bearer ${token}` }, cache: "no-store", credentials: "omit",
    });
    const data = await response.json();
    if (!response.ok || !data.token) {
      $("login-error").textContent = response.status === 401 ?
        "That is not this vigil's token (see the token file in its state directory)." : errorText(data);
      return;
    }
  } catch (error) {
    $("login-error").textContent = `The daemon did not answer: ${error}`;
    return;
  }
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  $("login-dialog").close();
  renderLogin();
  refreshDetail();
  $("logout-button").focus();
}

function logout() {
  state.token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  renderLogin();
  refreshDetail();
  $("login-button").focus();
}

function confirmAction(title, text, verb) {
  const dialog = $("confirm-dialog");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = verb;
  return new Promise((resolve) => {
    const done = (answer) => {
      $("confirm-ok").removeEventListener("click", yes);
      $("confirm-cancel").removeEventListener("click", no);
      dialog.removeEventListener("cancel", no);
      dialog.close();
      resolve(answer);
    };
    const yes = () => done(true);
    const no = () => done(false);
    $("confirm-ok").addEventListener("click", yes);
    $("confirm-cancel").addEventListener("click", no);
    dialog.addEventListener("cancel", no);
    dialog.showModal();
    $("confirm-cancel").focus();
  });
}

function setDetailStatus(text, bad) {
  const line = $("detail-status");
  line.textContent = text;
  line.classList.toggle("bad", Boolean(bad));
}

async function act(spec) {
  if (!state.token) {
    setDetailStatus("Log in with the API token first: every change needs it.", true);
    return;
  }
  if (spec.confirm && !(await confirmAction(spec.title, spec.confirm, spec.verb || spec.label))) {
    setDetailStatus("Nothing was done.");
    return;
  }
  setDetailStatus(`${spec.label}: sent, waiting for the daemon…`);
  try {
    const response = await fetch(spec.path, {
      method: "POST",
      headers: { Authorization: `Bearer ${state.token}`, "Content-Type": "application/json" },
      body: JSON.stringify(spec.body || {}),
      cache: "no-store",
      credentials: "omit",
    });
    const data = await response.json().catch(() => ({}));
    if (response.status === 401) {
      state.token = null;
      sessionStorage.removeItem(TOKEN_KEY);
      renderLogin();
      refreshDetail();
      setDetailStatus(`Refused: ${errorText(data)} You are logged out; log in again with the right token.`, true);
      return;
    }
    if (!response.ok) {
      setDetailStatus(`Refused: ${errorText(data)}`, true);
      return;
    }
    const notes = (data.notes || []).join(" ");
    setDetailStatus(`${data.message}${notes ? ` (${notes})` : ""}`);
  } catch (error) {
    setDetailStatus(`The daemon did not answer: ${error}`, true);
  }
}

function actionButton(label, spec) {
  return h("button", {
    type: "button", text: label, class: spec.confirm ? "danger" : null, disabled: !state.token,
    data: { action: spec.name || label }, onclick: () => act({ label, ...spec }),
  });
}

function nodeSelect(label, nodes) {
  return h("select", { "aria-label": label }, nodes.map((node) => h("option", { value: node, text: node })));
}

// -- details: a resource or a node, with its actions ------------------------------------------

function findResource(resources, id) {
  for (const rsc of resources) {
    if (rsc.id === id) return rsc;
    const inner = findResource(rsc.members, id);
    if (inner) return inner;
  }
  return null;
}

function resourceParts(status, id) {
  const rsc = findResource(status.resources, id);
  const primitives = rsc ? primitivesOf([rsc]) : primitivesOf(status.resources).filter((p) => baseId(p.id) === id);
  const ids = new Set(primitives.map((p) => p.id).concat(primitives.map((p) => baseId(p.id))));
  return { rsc, primitives, ids };
}

function resourceState(status, id) {
  const { rsc, primitives, ids } = resourceParts(status, id);
  const counts = failcountsOf(status, ids);
  const failed = status.failed_actions.filter((a) => ids.has(a.resource) || ids.has(baseId(a.resource)));
  return [
    h("p", {}, `${rsc ? rsc.kind : "primitive"}${rsc && rsc.agent ? ` (${rsc.agent})` : ""}`),
    primitives.length ? h("div", { class: "scroll" }, table(["Instance", "Role", "Node"], primitives.map((p) => h("tr", {},
      h("td", { class: "mono", text: p.id }), h("td", {}, stateWord(roleWords(p), roleTone(p)),
        flags(p).map((flag) => h("span", { class: "flag", text: `(${flag})` }))),
      h("td", { text: p.nodes.join(", ") || "—" }))))) : empty(`${id} is no longer configured.`),
    h("h3", { text: "Failures" }),
    counts.length ? counts.map(failcountView) : empty("No failures."),
    failed.length ? h("div", { class: "scroll" }, table(["Operation", "Node", "Result", "Exit reason", "Status",
      "Last change", "Took"], failedRows(failed))) : null,
  ];
}

function readOnlyNote() {
  return h("p", { class: "note readonly-note", text: "Read-only: log in with the API token to act.",
    hidden: Boolean(state.token) });
}

function resourceActions(status, id) {
  const nodes = status.nodes.map((node) => node.name);
  const path = `/api/v1/resources/${encodeURIComponent(id)}`;
  const moveTo = nodeSelect("Node to move it to", nodes);
  const banFrom = nodeSelect("Node to ban it from", nodes);
  const scores = h("div", {});
  const history = h("div", {});
  return [
    h("h3", { text: "Actions" }),
    readOnlyNote(),
    h("div", { class: "actions" },
      actionButton("Clean up", { name: "cleanup", path: `${path}/cleanup` }),
      actionButton("Restart", { name: "restart", path: `${path}/restart`,
        title: `Restart ${id}?`, verb: "Restart",
        confirm: `${id} is stopped everywhere (its stop is told stop_reason=admin, stop_final=true), then started again.` }),
      actionButton("Enable", { name: "enable", path: `${path}/enable` }),
      actionButton("Disable", { name: "disable", path: `${path}/disable`, title: `Disable ${id}?`, verb: "Disable",
        confirm: `${id} gets target-role=Stopped: it stops everywhere until it is enabled again.` }),
      actionButton("Maintenance on", { name: "maintenance-on", path: `${path}/maintenance`, body: { enabled: true },
        title: `Put ${id} in maintenance?`, verb: "Maintenance on",
        confirm: `The cluster neither starts, stops nor monitors ${id} until maintenance is off.` }),
      actionButton("Maintenance off", { name: "maintenance-off", path: `${path}/maintenance`, body: { enabled: false } })),
    h("div", { class: "actions" },
      h("fieldset", {}, h("legend", { text: "Move to a node (cli-prefer)" }), moveTo,
        h("button", { type: "button", text: "Move", class: "danger", disabled: !state.token, data: { action: "move" },
          onclick: () => act({ label: "Move", path: `${path}/move`, body: { node: moveTo.value },
            title: `Move ${id} to ${moveTo.value}?`, verb: "Move",
            confirm: `${id} moves to ${moveTo.value} and stays preferred there until the constraint is cleared.` }) })),
      h("fieldset", {}, h("legend", { text: "Ban from a node (cli-ban)" }), banFrom,
        h("button", { type: "button", text: "Ban", class: "danger", disabled: !state.token, data: { action: "ban" },
          onclick: () => act({ label: "Ban", path: `${path}/ban`, body: { node: banFrom.value },
            title: `Ban ${id} from ${banFrom.value}?`, verb: "Ban",
            confirm: `${id} stops on ${banFrom.value} and does not run there until the ban is cleared.` }) })),
      actionButton("Clear move and ban", { name: "clear", path: `${path}/clear` })),
    h("h3", { text: "Placement" }),
    h("button", { type: "button", text: "Show the allocation scores", onclick: () => showScores(id, scores) }),
    scores,
    h("h3", { text: "Operation history" }),
    h("button", { type: "button", text: "Show the last 20 results", onclick: () => showHistory(id, history) }),
    history,
  ];
}

async function showScores(id, container) {
  fill(container, h("p", { text: "Asking the scheduler…" }));
  const response = await fetch(`/api/v1/scores?resource=${encodeURIComponent(id)}`, { cache: "no-store" });
  const data = await response.json();
  if (!response.ok) {
    fill(container, h("p", { class: "error", text: errorText(data) }));
    return;
  }
  fill(container, data.map((entry) => [
    h("p", {}, h("b", { text: entry.resource }), ` is placed on ${entry.assigned || "no node (stopped)"}`),
    h("div", { class: "scroll" }, table(["Node", "Score"], entry.scores.map((item) => h("tr", {},
      h("td", { text: item.node }), h("td", { class: "mono", text: item.score }))))),
  ]));
}

async function showHistory(id, container) {
  fill(container, h("p", { text: "Reading the operation log…" }));
  const response = await fetch(`/api/v1/resources/${encodeURIComponent(id)}/history?limit=20`, { cache: "no-store" });
  const data = await response.json();
  if (!response.ok) {
    fill(container, h("p", { class: "error", text: errorText(data) }));
    return;
  }
  fill(container, data.length ? h("div", { class: "scroll" }, table(["When", "Node", "Task", "Result", "Context"],
    data.slice().reverse().map((entry) => h("tr", {},
      h("td", { text: time(entry.time) }), h("td", { text: entry.node }),
      h("td", { class: "mono", text: `${entry.resource} ${taskLabel(entry.task === "probe" ? "monitor" : entry.task, entry.interval_ms)}` }),
      h("td", {}, entry.failed ? stateWord(`FAILED ${entry.rc_name}`, "bad") : stateWord(entry.rc_name, "ok"),
        entry.exit_reason ? ` ${entry.exit_reason}` : ""),
      h("td", {}, contextView(Object.fromEntries(entry.context))))))) : empty("No result logged."));
}

function nodeState(overview, name) {
  const status = overview.status;
  const node = status.nodes.find((n) => n.name === name);
  if (!node) return [empty(`${name} is no longer in the cluster.`)];
  const attributes = overview.attributes[name] || [];
  const fencing = status.fencing.filter((entry) => entry.target === name);
  return [
    h("p", {}, stateWord(nodeWords(node), nodeTone(node)),
      name === status.controller ? [" ", stateWord("controller (DC)", "info")] : null,
      node.local ? h("span", { class: "badge", text: "this node" }) : null),
    h("h3", { text: "Attributes" }),
    attributes.length ? h("div", { class: "scroll" }, attributeTable(attributes)) : empty("No attributes."),
    h("h3", { text: "Fencing" }),
    fencing.length ? h("ul", {}, fencing.slice().reverse().map((entry) => h("li", { text: fencingWords(entry) }))) :
      empty("Never fenced."),
  ];
}

function nodeActions(name) {
  const path = `/api/v1/nodes/${encodeURIComponent(name)}`;
  return [
    h("h3", { text: "Actions" }),
    readOnlyNote(),
    h("div", { class: "actions" },
      actionButton("Standby", { name: "standby", path: `${path}/standby`, body: { enabled: true },
        title: `Put ${name} in standby?`, verb: "Standby",
        confirm: `Every resource on ${name} moves away or stops (told stop_reason=standby).` }),
      actionButton("Online", { name: "online", path: `${path}/online` }),
      actionButton("Maintenance on", { name: "node-maintenance-on", path: `${path}/maintenance`, body: { enabled: true },
        title: `Put ${name} in maintenance?`, verb: "Maintenance on",
        confirm: `The cluster leaves ${name}'s resources as they are, unmonitored, until maintenance is off.` }),
      actionButton("Maintenance off", { name: "node-maintenance-off", path: `${path}/maintenance`, body: { enabled: false } })),
  ];
}

function openDetail(type, id) {
  if (!state.overview) return;
  state.detail = { type, id };
  $("detail-title").textContent = type === "resource" ? `Resource ${id}` : `Node ${id}`;
  setDetailStatus("");
  const fixed = type === "resource" ? resourceActions(state.overview.status, id) : nodeActions(id);
  fill($("detail-body"), h("div", { id: "detail-state" }), fixed);
  refreshDetail();
  const dialog = $("detail-dialog");
  if (!dialog.open) dialog.showModal();
  $("detail-close").focus();
}

// The state part follows the cluster; the actions, scores and history stay as the operator left them.
function refreshDetail() {
  const live = $("detail-state");
  if (!state.detail || !state.overview || !live) return;
  fill(live, state.detail.type === "resource" ? resourceState(state.overview.status, state.detail.id) :
    nodeState(state.overview, state.detail.id));
}

// -- the live feed ----------------------------------------------------------------------------

let source = null;

function setConnection(which, text) {
  $("connection").dataset.state = which;
  $("connection-text").textContent = text;
}

function connect() {
  source = new EventSource("/api/v1/live");
  source.addEventListener("open", () => setConnection("live", "Live"));
  source.addEventListener("overview", (event) => {
    state.overview = JSON.parse(event.data);
    setConnection("live", "Live");
    render();
  });
  source.addEventListener("problem", (event) => {
    const data = JSON.parse(event.data);
    const banner = $("banner");
    banner.textContent = `The daemon cannot read its store: ${data.error}`;
    banner.hidden = false;
  });
  source.addEventListener("error", () => {
    setConnection("lost", "Connection lost: reconnecting…");
    if (source.readyState === EventSource.CLOSED) {
      source.close();
      setTimeout(connect, RECONNECT_MS);
    }
  });
}

function render() {
  const overview = state.overview;
  const focusedKey = document.activeElement && document.activeElement.dataset ?
    document.activeElement.dataset.key : undefined;
  renderHeader(overview.status);
  renderNodes(overview.status);
  renderResources(overview.status);
  renderFailures(overview.status);
  renderTransitions(overview);
  renderEvents(overview.events);
  renderAttributes(overview.attributes);
  updateWhatIfChoices(overview.status);
  refreshDetail();
  if (focusedKey && !document.activeElement.dataset.key) {
    const again = document.querySelector(`[data-key="${CSS.escape(focusedKey)}"]`);
    if (again) again.focus();
  }
}

// -- start ------------------------------------------------------------------------------------

$("login-button").addEventListener("click", openLogin);
$("logout-button").addEventListener("click", logout);
$("login-form").addEventListener("submit", submitLogin);
$("login-cancel").addEventListener("click", () => $("login-dialog").close());
$("detail-close").addEventListener("click", () => $("detail-dialog").close());
$("detail-dialog").addEventListener("close", () => { state.detail = null; });
$("what-if-form").addEventListener("submit", runWhatIf);
$("what-if-kind").addEventListener("change", whatIfKindChanged);
whatIfKindChanged();
renderLogin();
connect();

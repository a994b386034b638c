// The High Availability tabs' live state and their confirmations; no framework.
"use strict";

const POLL_MS = 1000;
// A server that is paused (SIGSTOP) accepts the connection and never answers.
const ANSWER_MS = 3000;
const TABS = {security: "/admin/ha/security", configuration: "/admin/ha/configuration"};

// Once a form is on its way the page is about to be replaced: no second submit, and no
// poll may navigate away meanwhile (Configure and Go Standby log the session out before
// their answer arrives; a poll's 401 must not cancel that answer).
let submitting = false;

function submitOnce(form) {
  submitting = true;
  for (const button of document.querySelectorAll("button[type=submit]")) button.disabled = true;
  form.submit();  // submit() skips the submit event: no second confirmation
  // A server that takes long (or is paused) must not leave a silent, disabled page.
  setTimeout(() => trouble("Waiting for the server's answer..."), ANSWER_MS);
}

// Leaving for another page: polls stop, so none can start a second navigation.
function leave(url) {
  submitting = true;
  location.assign(url);
}

function confirmBeforeSubmit() {
  const dialog = document.getElementById("confirm-dialog");
  let pending = null;
  for (const form of document.querySelectorAll("form")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (submitting) return;
      if (!form.dataset.confirm || !dialog) {
        submitOnce(form);
        return;
      }
      pending = form;
      document.getElementById("confirm-message").textContent = form.dataset.confirm;
      dialog.showModal();
    });
  }
  if (!dialog) return;
  document.getElementById("confirm-ok").addEventListener("click", () => {
    dialog.close();
    if (pending) submitOnce(pending);
  });
  document.getElementById("confirm-cancel").addEventListener("click", () => {
    pending = null;
    dialog.close();
  });
}

// Delete is enabled only once the partner's password is entered, and while the server
// allows it (data-allowed, rendered by the server and kept current by the poll).
function refreshNeedsInput() {
  for (const button of document.querySelectorAll("button[data-needs-input]")) {
    const input = document.getElementById(button.dataset.needsInput);
    const allowed = button.dataset.allowed === "yes";
    if (input) input.disabled = !allowed;
    button.disabled = submitting || !(input && input.value.length > 0 && allowed);
  }
}

function showSettings(heartbeat) {
  // Another administrator's Update shows here, unless this one is typing a value.
  for (const input of document.querySelectorAll("input[data-setting]")) {
    if (!input.dataset.edited && document.activeElement !== input) {
      input.value = heartbeat[input.dataset.setting];
    }
  }
}

// A list of timed lines (messages, votes), newest first; "none" when there is none.
function showTimedList(list, entries, className, none) {
  const items = entries.map((e) => {
    const item = document.createElement("li");
    item.className = className(e);
    const time = document.createElement("time");
    time.textContent = new Date(e.at * 1000).toISOString().slice(11, 19);
    item.append(time, " " + e.text);
    return item;
  });
  if (!items.length) {
    const empty = document.createElement("li");
    empty.className = "none";
    empty.textContent = none;
    items.push(empty);
  }
  list.replaceChildren(...items);
}

function showMessages(messages) {
  showTimedList(document.getElementById("messages"), messages.slice().reverse(), (m) => m.level, "No messages.");
}

// The synchronous state's colour, and the witness's last votes (who asked, why, the
// answer), newest first as the state gives them; their words are kept by data-field.
function showModes(state) {
  const sync = document.getElementById("synchronous-state");
  if (sync) sync.className = "status " + (state.synchronous_kind || "");
  const votes = document.getElementById("witness-votes");
  if (votes && state.witness) {
    showTimedList(votes, state.witness_votes, (v) => "vote-" + v.outcome.replace(" ", "-"), "No votes yet.");
  }
}

function showBanner(state) {
  const banner = document.getElementById("banner");
  if (state.serving || !state.trusted) {
    banner.hidden = true;
    return;
  }
  banner.replaceChildren(document.createTextNode(
    "This server is " + state.role_word.toLowerCase() +
    (state.active ? "; the active server is " : "; no active server is known right now.")));
  if (state.active) {
    const link = document.createElement("a");
    link.href = state.active + "/admin/login";
    link.textContent = state.active;
    banner.append(link, ".");
  }
  banner.hidden = false;
}

function show(state) {
  if ((state.trusted ? "yes" : "no") !== document.body.dataset.trusted) {
    // The tabs themselves change with the trust: load the tab afresh (a GET, never a
    // form again).
    leave(state.trusted ? TABS[document.body.dataset.tab] : TABS.security);
    return;
  }
  for (const el of document.querySelectorAll("[data-field]")) {
    const value = state[el.dataset.field];
    el.textContent = value === null || value === undefined ? "" : value;
  }
  document.getElementById("server-role").className = "role role-" + state.role;
  const status = document.getElementById("standby-server-status");
  if (status) {
    status.textContent = state.standby_server_status || "Not Ready";
    status.className = "status " + (state.standby_server_status === "Ready" ? "good" : "bad");
  }
  for (const button of document.querySelectorAll("button[data-action]")) {
    const action = state.actions[button.dataset.action];
    if (!action) continue;
    if (button.dataset.needsInput) button.dataset.allowed = action.enabled ? "yes" : "no";
    else button.disabled = !action.enabled;
  }
  for (const why of document.querySelectorAll("[data-why]")) {
    const action = state.actions[why.dataset.why];
    if (action) why.textContent = action.why;
  }
  refreshNeedsInput();
  showSettings(state.heartbeat);
  showMessages(state.messages);
  showModes(state);
  document.getElementById("split-brain").hidden = !state.split_brain;
  showBanner(state);
}

function trouble(text) {
  const banner = document.getElementById("banner");
  if (!banner) return;  // the login page has none
  banner.textContent = text;
  banner.hidden = false;
}

// The state, or why there is none: {state}, {login} (the session is gone) or {trouble}.
async function fetchState() {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ANSWER_MS);
  try {
    const reply = await fetch("/admin/ha/state", {credentials: "same-origin", cache: "no-store",
                                                  signal: abort.signal});
    const body = await reply.json().catch(() => ({}));
    if (reply.status === 401) return {login: body.login};
    if (!reply.ok) return {trouble: "The server answers: " + (body.message || "HTTP " + reply.status) + ". Retrying."};
    return {state: body};
  } catch (err) {
    return {trouble: "This server does not answer (" + (err.name === "AbortError" ?
      "no answer in " + ANSWER_MS / 1000 + " s" : "no connection") + "); retrying."};
  } finally {
    clearTimeout(timer);
  }
}

async function poll() {
  if (submitting) return;
  const answer = await fetchState();
  if (submitting) return;
  if (answer.login) {
    leave(answer.login);  // Configure, Go Standby or Logout elsewhere
    return;
  }
  if (answer.trouble) trouble(answer.trouble);
  else show(answer.state);  // a script error here is a script error, not "no connection"
  if (!submitting) setTimeout(poll, POLL_MS);
}

// A page restored from the back-forward cache may be one that was submitting: load it anew.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) location.reload();
});

document.addEventListener("DOMContentLoaded", () => {
  confirmBeforeSubmit();
  for (const input of document.querySelectorAll("input[data-enables]")) {
    input.addEventListener("input", refreshNeedsInput);
  }
  for (const input of document.querySelectorAll("input[data-setting]")) {
    input.addEventListener("input", () => { input.dataset.edited = "yes"; });
  }
  refreshNeedsInput();
  // A refusal answers a form's POST: with the entry replaced, Reload and Back load the
  // page with a GET instead of posting the form (and its password) again.
  const tab = TABS[document.body.dataset.tab];
  history.replaceState(null, "", tab || document.body.dataset.home || location.pathname + location.search);
  if (tab) setTimeout(poll, POLL_MS);
});

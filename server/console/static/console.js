// The High Availability tabs' live state and their confirmations; no framework.
"use strict";

const POLL_MS = 1000;

function confirmBeforeSubmit() {
  const dialog = document.getElementById("confirm-dialog");
  if (!dialog) return;
  let pending = null;
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      pending = form;
      document.getElementById("confirm-message").textContent = form.dataset.confirm;
      dialog.showModal();
    });
  }
  document.getElementById("confirm-ok").addEventListener("click", () => {
    dialog.close();
    if (pending) pending.submit();  // submit() skips the submit event: no second dialog
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
    button.disabled = !(input && input.value.length > 0 && button.dataset.allowed === "yes");
  }
}

function show(state) {
  if ((state.trusted ? "yes" : "no") !== document.body.dataset.trusted) {
    location.reload();  // the tabs themselves change with the trust
    return;
  }
  for (const el of document.querySelectorAll("[data-field]")) {
    const value = state[el.dataset.field];
    el.textContent = value === null || value === undefined ? "" : value;
  }
  const role = document.getElementById("server-role");
  if (role) role.className = "role role-" + state.role;
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
  showMessages(state.messages);
  document.getElementById("split-brain").hidden = !state.split_brain;
  const banner = document.getElementById("banner");
  if (state.serving || !state.trusted) {
    banner.hidden = true;
  } else {
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
}

function showMessages(messages) {
  const list = document.getElementById("messages");
  const items = messages.slice().reverse().map((m) => {
    const item = document.createElement("li");
    item.className = m.level;
    const time = document.createElement("time");
    time.textContent = new Date(m.at * 1000).toISOString().slice(11, 19);
    item.append(time, " " + m.text);
    return item;
  });
  if (!items.length) {
    const none = document.createElement("li");
    none.className = "none";
    none.textContent = "No messages.";
    items.push(none);
  }
  list.replaceChildren(...items);
}

function lostContact(why) {
  const banner = document.getElementById("banner");
  banner.textContent = "This server does not answer (" + why + "); retrying.";
  banner.hidden = false;
}

async function poll() {
  try {
    const reply = await fetch("/admin/ha/state", {credentials: "same-origin", cache: "no-store"});
    if (reply.status === 401) {
      location.assign((await reply.json()).login);  // Configure, Go Standby or Logout elsewhere
      return;
    }
    if (!reply.ok) lostContact("HTTP " + reply.status);
    else show(await reply.json());
  } catch (err) {
    lostContact("no connection");
  }
  setTimeout(poll, POLL_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  confirmBeforeSubmit();
  for (const input of document.querySelectorAll("input[data-enables]")) {
    input.addEventListener("input", refreshNeedsInput);
  }
  refreshNeedsInput();
  if (document.body.dataset.tab) setTimeout(poll, POLL_MS);
});

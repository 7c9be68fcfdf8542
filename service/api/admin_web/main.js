// Gyre admin UI entry: login, navigation between the Status, Actions and Channel pages, logout.

import * as api from "./api.js";
import { ActionsView } from "./actions.js";
import { LiveView } from "./live.js";
import { StatusView } from "./status.js";

const VIEWS = { status: "Status", actions: "Actions", channel: "Channel" };
const $ = (id) => document.getElementById(id);
const insecure = document.documentElement.dataset.insecure === "1";

const connError = $("conn-error");
function showError(message) {
  connError.textContent = message;
  connError.hidden = !message;
}

const status = new StatusView({ onError: showError });
const actions = new ActionsView();
const live = new LiveView();

function showLogin(note = "") {
  status.stop();
  live.stop();
  showError("");
  $("nav").hidden = true;
  $("logout").hidden = true;
  for (const name of Object.keys(VIEWS)) $(`${name}-view`).hidden = true;
  $("login-view").hidden = false;
  $("login-note").textContent = note;
  document.title = "Log in · Gyre admin";
  $("password").focus();
}

function route() {
  if (!api.token()) {
    showLogin();
    return;
  }
  let name = location.hash.slice(1);
  if (!(name in VIEWS)) name = "status";
  $("login-view").hidden = true;
  $("nav").hidden = false;
  $("logout").hidden = insecure;
  for (const view of Object.keys(VIEWS)) $(`${view}-view`).hidden = view !== name;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${VIEWS[name]} · Gyre admin`;
  status.start();
}

api.onAuthLost(() => showLogin("Your session has expired or is no longer valid. Log in again."));

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const password = $("password");
  const error = $("login-error");
  const button = e.target.querySelector("button[type=submit]");
  error.textContent = "";
  if (!password.value) {
    error.textContent = "Enter the admin password.";
    return;
  }
  button.disabled = true;
  try {
    if (await api.login(password.value)) {
      password.value = "";
      $("login-note").textContent = "";
      route();
    } else {
      error.textContent = "Wrong password.";
      password.select();
    }
  } catch (err) {
    error.textContent = `Cannot log in: ${err.message}`;
  } finally {
    button.disabled = false;
  }
});

$("logout").addEventListener("click", () => {
  api.clearToken();
  history.replaceState(null, "", location.pathname);
  showLogin("You have logged out.");
});

window.addEventListener("hashchange", route);

async function boot() {
  $("insecure-banner").hidden = !insecure;
  if (insecure && !api.token()) {
    try {
      await api.login("");
    } catch (err) {
      showError(`Cannot reach the server: ${err.message}`);
    }
  }
  route();
}

boot();

// Login: exchanges a username and password for a tenant-scoped access JWT and the refresh JWT that renews it.
import { api, ApiError, session } from "../api.js";
import { h } from "../ui.js";

export function renderLogin(root, { reason = "" } = {}) {
  const error = h("p", { class: "form-error", role: "alert", hidden: !reason }, reason);
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, "Sign in");
  const form = h(
    "form",
    { class: "card login-card", novalidate: true },
    h("h1", {}, "MYVMS"),
    h("p", { class: "muted" }, "Sign in to your operator console."),
    h("label", {}, "Username", h("input", { name: "username", autocomplete: "username", required: true })),
    h(
      "label",
      {},
      "Password",
      h("input", { name: "password", type: "password", autocomplete: "current-password", required: true }),
    ),
    error,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    submit.disabled = true;
    error.hidden = true;
    try {
      const tokens = await api("auth/token", { method: "POST", body: data, auth: false });
      session.save(tokens.access, tokens.refresh);
      // Setting the hash re-renders through the router; an existing hash (a deep link, or the page the user was on
      // when the session ended) needs the event.
      if (!window.location.hash) window.location.hash = "#/cameras";
      else window.dispatchEvent(new Event("vms:signed-in"));
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 400 ? "Enter a username and a password." : err.message;
      error.hidden = false;
      submit.disabled = false;
    }
  });
  root.append(h("div", { class: "login" }, form));
  form.querySelector("input").focus();
}

// The REST client of the SPA: the tokens in localStorage, one error type, this site's media URLs with ?token=.
const TOKEN_KEY = "vms_v2_token";
const REFRESH_KEY = "vms_v2_refresh";
// The access token is renewed when this share of its life has passed.
const REFRESH_AT = 0.8;

/** A failed API call, carrying the server's {"detail","code","fields"} error shape. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.detail || `Request failed (${status})`);
    this.status = status;
    this.code = body?.code || "error";
    this.fields = body?.fields || {};
  }
}

function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part));
  } catch {
    return null;
  }
}

export const session = {
  get token() {
    return localStorage.getItem(TOKEN_KEY);
  },
  /** The token's claims, or null when there is no token or it has expired. */
  current() {
    const token = this.token;
    const data = token && claims(token);
    if (!data || (data.exp && data.exp * 1000 <= Date.now())) return null;
    return data;
  },
  get refreshToken() {
    return localStorage.getItem(REFRESH_KEY);
  },
  /** Milliseconds until the access token should be renewed (0 when due), or null without a refresh token. */
  refreshDelay() {
    const data = this.token && claims(this.token);
    if (!this.refreshToken || !data?.exp) return null;
    const issued = data.iat || data.exp - 60;
    return Math.max(0, (issued + (data.exp - issued) * REFRESH_AT) * 1000 - Date.now());
  },
  save(access, refresh) {
    localStorage.setItem(TOKEN_KEY, access);
    if (refresh) localStorage.setItem(REFRESH_KEY, refresh);
  },
  clear() {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(REFRESH_KEY);
  },
};

let refreshing = null;

/**
 * Exchanges the refresh token for a new access token, one request at a time. Resolves true when the session goes
 * on, false when it cannot (no refresh token, or the server refused it); rejects with ApiError(0) when the server
 * cannot be reached, so a network blip does not end a session.
 */
export function refreshSession() {
  refreshing ||= (async () => {
    const refresh = session.refreshToken;
    if (!refresh) return false;
    try {
      const { access } = await api("auth/refresh", { method: "POST", body: { refresh }, auth: false });
      session.save(access);
      window.dispatchEvent(new Event("vms:token-refreshed"));
      return true;
    } catch (err) {
      if (err.status === 0) throw err;
      return false;
    }
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** Ends the session and shows the login screen (an expired or refused token lands here). */
export function signOut(reason) {
  session.clear();
  window.dispatchEvent(new CustomEvent("vms:signed-out", { detail: reason }));
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

function expired() {
  signOut("Your session has expired. Please sign in again.");
  return new ApiError(401, { detail: "Session expired.", code: "not_authenticated" });
}

async function send(path, options = {}, retried = false) {
  const { method = "GET", body, params, auth = true, accept = "application/json" } = options;
  const headers = { Accept: accept };
  if (auth) {
    if (!session.current() && !(await refreshSession())) throw expired();
    headers.Authorization = `Bearer ${session.token}`;
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(`/v2/api/${path}${query(params)}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { detail: "The server cannot be reached. Check the connection.", code: "network" });
  }
  // Another format's body is the caller's to read; an error's is the API's JSON whatever was asked for.
  const json = accept === "application/json" || !response.ok;
  const data = response.status === 204 || !json ? null : await response.json().catch(() => null);
  if (response.status === 401 && auth) {
    // Refused although it looked valid (revoked, signing key changed): renew it once and try again.
    if (!retried && (await refreshSession())) return send(path, options, true);
    throw expired();
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return { data, response };
}

/** Calls /v2/api/<path>; resolves to the JSON body (null for 204), rejects with ApiError. */
export async function api(path, options) {
  return (await send(path, options)).data;
}

/** Calls /v2/api/<path> for another format than JSON (e.g. text/csv); resolves to the body as a Blob. */
export async function apiBlob(path, params, accept = "text/csv") {
  return (await send(path, { params, accept })).response.blob();
}

/**
 * One page of a keyset-paged list (GET /v2/api/events): its items and the `before` cursor of the next,
 * older page, read from the response's Link rel="next" header (null on the last page).
 */
export async function apiPage(path, params) {
  const { data, response } = await send(path, { params });
  const link = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get("Link") || "");
  const next = link ? new URL(link[1], window.location.origin).searchParams.get("before") : null;
  return { items: data, next };
}

/**
 * A media URL (playlist, snapshot) the browser can load. The token goes only to this site's /v2/hls/ paths
 * (already signed ones are left alone): an event's snapshot_url may come from an ingesting client and point
 * anywhere.
 */
export function mediaUrl(url) {
  if (!url) return "";
  const parsed = new URL(url, window.location.origin);
  const own = parsed.origin === window.location.origin;
  const signed = parsed.searchParams.has("sig") || parsed.searchParams.has("token");
  if (own && parsed.pathname.startsWith("/v2/hls/") && !signed) {
    parsed.searchParams.set("token", session.token || "");
  }
  return own ? parsed.pathname + parsed.search : parsed.href;
}

// The configapp HTTP API as plain async functions. Knows nothing of pages or storage: the
// caller gives the backend's base URL, a function that returns the current token (or none,
// when a session signs the requests in), one that returns the session's secret (sent as
// X-Configapp-Session beside the session cookie), and an optional function that signs the
// user in again when the server answers 401.

/** An answer that is not 2xx, or a server that cannot be reached (status 0). */
export class ApiError extends Error {
  constructor(status, message, { errors = null, body = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.errors = errors;
    this.body = body;
  }
}

/** The header that carries the session's secret (configapp/access/gate.py's SESSION_HEADER). */
export const SESSION_HEADER = "X-Configapp-Session";

/** `openai/gpt-4o` -> `openai/gpt-4o`, each segment escaped: model ids are paths. */
export function modelPath(modelId) {
  return modelId.split("/").map(encodeURIComponent).join("/");
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's page, say): the status line has to do.
  }
  const message = (body && typeof body.message === "string" && body.message)
    || `The server answered ${response.status} ${response.statusText}`.trim();
  return new ApiError(response.status, message, { errors: body && body.errors, body });
}

/**
 * createApiClient({ baseUrl, getToken, getSessionSecret, askToken }) -> client
 *
 * baseUrl: "" for the page's own origin, "http://127.0.0.1:8000", or where configapp is
 *   mounted in a host app ("https://host/llm").
 * getToken(): the bearer token to send, or null.
 * getSessionSecret(): the secret of this page's session, or null (the cookie alone opens
 *   nothing: another port of the host receives it too).
 * askToken(reason): optional; signs in again after a 401 (a token stored where getToken
 *   finds it, or a session cookie) and resolves to something truthy, or to null when the
 *   user declines. Concurrent 401s share one question.
 */
export function createApiClient({ baseUrl = "", getToken = () => null,
                                  getSessionSecret = () => null, askToken = null } = {}) {
  const root = baseUrl.replace(/\/+$/, "");
  let pendingQuestion = null;

  function ask(reason) {
    if (!pendingQuestion) {
      pendingQuestion = Promise.resolve(askToken(reason)).finally(() => {
        pendingQuestion = null;
      });
    }
    return pendingQuestion;
  }

  async function send(method, path, { body, signal, accept = "application/json" } = {}) {
    const headers = { Accept: accept };
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    const secret = getSessionSecret();
    if (secret) headers[SESSION_HEADER] = secret;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    try {
      const response = await fetch(root + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        // The page's own cookies (a host app's login, when configapp is mounted in one);
        // never another origin's: the extension's calls carry none.
        credentials: "same-origin",
        cache: "no-store",
      });
      return { response, token };
    } catch (error) {
      if (error && error.name === "AbortError") throw error;
      throw new ApiError(0, `Cannot reach the server${root ? ` at ${root}` : ""}. Is it running?`);
    }
  }

  /** The raw Response of a successful call; ApiError otherwise. Retries after a new token. */
  async function respond(method, path, options = {}) {
    let { response, token } = await send(method, path, options);
    let refused = false;
    while (response.status === 401 && askToken) {
      // Another request may already have obtained a new token while this one was out.
      if (getToken() === token || !getToken()) {
        const fresh = await ask(refused || token ? "refused" : "needed");
        if (!fresh) break;
      }
      refused = true;
      ({ response, token } = await send(method, path, options));
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  async function json(method, path, options) {
    const response = await respond(method, path, options);
    if (response.status === 204) return null;
    return response.json();
  }

  const get = (path, options) => json("GET", path, options);

  return {
    baseUrl: root,
    respond,
    json,

    providers: () => get("/api/config/providers"),
    listKeys: () => get("/api/config/api-keys"),
    addKey: (key) => json("POST", "/api/config/api-keys", { body: key }),
    updateKey: (id, changes) => json("PATCH", `/api/config/api-keys/${id}`, { body: changes }),
    deleteKey: (id) => json("DELETE", `/api/config/api-keys/${id}`),
    testKey: (id) => json("POST", `/api/config/api-keys/${id}/test`),

    models({ provider, q, configured, includeHidden, live } = {}) {
      const query = new URLSearchParams();
      if (provider) query.set("provider", provider);
      if (q) query.set("q", q);
      if (configured) query.set("configured", "true");
      if (includeHidden) query.set("include_hidden", "true");
      if (live) query.set("live", "true");
      const text = query.toString();
      return get(`/api/config/models${text ? `?${text}` : ""}`);
    },

    /** The default model with its parameters and bounds, or null when none is chosen. */
    async selectedModel() {
      // The sync snapshot says whether one is chosen without a 404 in the console.
      const snapshot = await get("/api/config/sync");
      if (!snapshot.selected) return null;
      try {
        return await get("/api/config/models/selected");
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }
    },

    selectModel: (modelId) => json("POST", `/api/config/models/${modelPath(modelId)}/select`),
    setParameters: (modelId, parameters) =>
      json("PUT", `/api/config/models/${modelPath(modelId)}/parameters`, { body: parameters }),
    sync: () => get("/api/config/sync"),

    // Curation: purposes (with the warnings), aliases, shown models per provider.
    purposes: () => get("/api/config/purposes"),
    // fallbacks: a list of model ids or aliases; left out (undefined): kept as they are.
    setPurpose: (name, model, fallbacks) =>
      json("PUT", `/api/config/purposes/${encodeURIComponent(name)}`,
           { body: { model, fallbacks } }),
    clearPurpose: (name) => json("DELETE", `/api/config/purposes/${encodeURIComponent(name)}`),
    aliases: () => get("/api/config/aliases"),
    setAlias: (name, model, parameters = {}, fallbacks = undefined) =>
      json("PUT", `/api/config/aliases/${modelPath(name)}`,
           { body: { model, parameters, fallbacks } }),
    deleteAlias: (name) => json("DELETE", `/api/config/aliases/${modelPath(name)}`),
    curation: () => get("/api/config/curation"),
    curate: (provider, change) =>
      json("PATCH", `/api/config/curation/${encodeURIComponent(provider)}`, { body: change }),

    /** POST /api/chat, answered as JSON (a short call, such as a title). */
    chat: (body) => json("POST", "/api/chat", { body }),
    /** The tokens and cost of a reply that ended without the provider's usage. */
    countReply: (body) => json("POST", "/api/chat/count", { body }),
    /** A stream's ledger row, by the X-Chat-Receipt its answer carried (waits for its end). */
    receipt: (receipt) => get(`/api/chat/receipts/${encodeURIComponent(receipt)}`),

    /** POST /api/chat with stream=true: the Response, whose body is text/event-stream. */
    chatStream: (body, { signal } = {}) =>
      respond("POST", "/api/chat", { body: { ...body, stream: true }, signal,
                                     accept: "text/event-stream" }),
  };
}

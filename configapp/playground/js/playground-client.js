// The Playground's API client: the page's own origin, and the token asked once and kept in
// sessionStorage for the browser session.

import { createApiClient } from "./api-client.js";
import { askForToken } from "./token-dialog.js";

const TOKEN_KEY = "configapp.apiToken";
let memory = null; // used when sessionStorage is not available

function readToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null; // storage disabled: the token is asked for again when needed
  }
}

function keepToken(token) {
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Not kept: it still works for the requests that follow on this page.
  }
  memory = token;
}

export function playgroundClient() {
  return createApiClient({
    baseUrl: "",
    getToken: () => readToken() || memory,
    async askToken(reason) {
      const token = await askForToken(reason);
      if (token) keepToken(token);
      return token;
    },
  });
}

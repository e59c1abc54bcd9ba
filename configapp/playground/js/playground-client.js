// The Playground's API client: the server that serves the page, under the same URL prefix
// (this module is at <prefix>/assets/js/), and the token asked once and kept in
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

/** The URL the pages and the API are mounted at ("http://host/prefix/"). */
export const mountUrl = new URL("../../", import.meta.url).href;

export function playgroundClient() {
  return createApiClient({
    baseUrl: mountUrl,
    getToken: () => readToken() || memory,
    async askToken(reason) {
      const token = await askForToken(reason);
      if (token) keepToken(token);
      return token;
    },
  });
}

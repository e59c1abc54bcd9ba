// The Playground's API client: the server that serves the page, under the same URL prefix
// (this module is at <prefix>/assets/js/), signed in by the session cookie the server set
// when the API token was traded for it (<prefix>/login) and the session's secret this
// page keeps (session.js). The token is never kept by the
// page: when the session ends (signed out elsewhere, expired, token rotated), the sign-in
// dialog asks for it again and trades it for a new cookie.

import { createApiClient } from "./api-client.js";
import { sessionSecret, signIn } from "./session.js";
import { askForToken } from "./token-dialog.js";

const HINT = "It is traded for a session cookie; this page does not keep it.";

/** The URL the pages and the API are mounted at ("http://host/prefix/"). */
export const mountUrl = new URL("../../", import.meta.url).href;

/** Ask until the server takes the token (true) or the user gives up (null). */
async function signInAgain() {
  let why = "ended";
  for (;;) {
    const token = await askForToken(why, { hint: HINT });
    if (!token) return null;
    try {
      await signIn(token);
      return true;
    } catch (error) {
      why = error.status === 429 ? "limited" : "refused";
    }
  }
}

export function playgroundClient() {
  return createApiClient({ baseUrl: mountUrl, getSessionSecret: sessionSecret,
                           askToken: signInAgain });
}

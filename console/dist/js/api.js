// The KMS OpenAPI client the console uses: every call is a signed POST to the endpoint's /, with
// the action in x-acs-action and every parameter in the query, as the official SDK sends it.
import { acsDate, authorization, canonicalQuery, nonce, sha256Hex } from "./sign.js";
export const apiVersion = "2016-01-20";
// timeoutMs bounds every call, so a hung endpoint shows an error instead of a spinner forever.
const timeoutMs = 30_000;
// ApiError is an error answer in the protocol's shape, or a transport failure with a code the
// console invents (NetworkError, BadResponse) so every error reads the same way.
export class ApiError extends Error {
    code;
    status;
    requestId;
    constructor(code, message, status = 0, requestId = "") {
        super(message);
        this.code = code;
        this.status = status;
        this.requestId = requestId;
    }
}
export class Client {
    credentials;
    endpoint;
    constructor(endpoint, credentials) {
        this.credentials = credentials;
        this.endpoint = new URL("/", endpoint);
    }
    async call(action, params = {}) {
        const query = {};
        for (const [k, v] of Object.entries(params)) {
            if (v !== "")
                query[k] = v;
        }
        const acs = {
            "x-acs-action": action,
            "x-acs-content-sha256": await sha256Hex(""),
            "x-acs-date": acsDate(new Date()),
            "x-acs-signature-nonce": nonce(),
            "x-acs-version": apiVersion,
        };
        // The browser sets Host itself, from the URL, so it is signed but not sent by hand.
        const headers = { host: this.endpoint.host, ...acs };
        const auth = await authorization({ method: "POST", path: "/", query, headers, body: "" }, this.credentials);
        const url = new URL(this.endpoint);
        url.search = canonicalQuery(query);
        let res;
        try {
            res = await fetch(url, {
                method: "POST",
                headers: { ...acs, authorization: auth, accept: "application/json" },
                cache: "no-store",
                credentials: "omit",
                referrerPolicy: "no-referrer",
                signal: AbortSignal.timeout(timeoutMs),
            });
        }
        catch (e) {
            const why = e instanceof Error ? e.message : String(e);
            throw new ApiError("NetworkError", `${this.endpoint.origin} did not answer (${why}); check the endpoint and its COFFER_CONSOLE_ORIGINS`);
        }
        let body;
        try {
            body = (await res.json());
        }
        catch {
            throw new ApiError("BadResponse", `the endpoint answered HTTP ${res.status} without a JSON body`, res.status);
        }
        if (!res.ok) {
            throw new ApiError(String(body.Code ?? "Unknown"), String(body.Message ?? ""), res.status, String(body.RequestId ?? ""));
        }
        return body;
    }
    // pages calls a paged list action until every item is read; pick returns one page's items.
    async pages(action, params, pick) {
        const out = [];
        for (let page = 1;; page++) {
            const b = await this.call(action, { ...params, PageNumber: String(page), PageSize: "100" });
            const items = pick(b);
            out.push(...items);
            if (items.length === 0 || out.length >= Number(b.TotalCount ?? 0))
                return out;
        }
    }
    // allowed asks the endpoint's CheckPermissions which of actions this key may call (on the
    // resource named in on, or anywhere without one). It acts on nothing, so no probe ever shows
    // as a failed call; an action the endpoint does not serve answers false.
    async allowed(actions, on = {}) {
        const b = await this.call("CheckPermissions", { ...on, Actions: JSON.stringify(actions) });
        const list = (b.Permissions?.Permission ?? []);
        return new Map(list.map((p) => [p.Action, p.Allowed === true]));
    }
}

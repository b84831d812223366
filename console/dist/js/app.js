// The console's entry point: sign-in, the header, and a hash router over the views. The access
// key lives in sessionStorage only: it is gone when the tab closes and never sent anywhere but
// into the signature.
import { ApiError, Client } from "./api.js";
import { attempt, h, notice } from "./dom.js";
import * as access from "./views/access.js";
import * as instances from "./views/instances.js";
import * as keys from "./views/keys.js";
import * as secret from "./views/secret.js";
import * as secrets from "./views/secrets.js";
const storageKey = "coffer.session";
function loadSession() {
    try {
        const s = JSON.parse(sessionStorage.getItem(storageKey) ?? "null");
        return s && s.endpoint && s.accessKeyId && s.accessKeySecret ? s : null;
    }
    catch {
        return null;
    }
}
// defaultEndpoint is the page's own origin when the emulator serves the console, or the
// endpoint a static deployment names in <meta name="coffer-endpoint">.
function defaultEndpoint() {
    const meta = document.querySelector('meta[name="coffer-endpoint"]')?.content;
    return meta || location.origin;
}
function signIn(main) {
    const endpoint = h("input", { name: "endpoint", type: "url", required: true, value: defaultEndpoint() });
    const id = h("input", { name: "accessKeyId", required: true, autocomplete: "off", spellcheck: "false" });
    const secretInput = h("input", { name: "accessKeySecret", type: "password", required: true, autocomplete: "off" });
    const slot = h("div", { class: "slot" });
    const form = h("form", {
        class: "signin",
        "on:submit": async (e) => {
            e.preventDefault();
            const s = { endpoint: endpoint.value, accessKeyId: id.value.trim(), accessKeySecret: secretInput.value };
            const ok = await attempt(slot, "Signing in", async () => {
                // A signed call every valid key may make proves the key before it is kept.
                await new Client(s.endpoint, s).allowed(offered);
            });
            if (!ok)
                return;
            sessionStorage.setItem(storageKey, JSON.stringify(s));
            route();
        },
    }, h("h1", {}, "Sign in to Coffer"), h("p", {}, "The access key stays in this tab (sessionStorage) and signs each call here; it is never sent."), h("label", {}, "Endpoint", endpoint), h("label", {}, "AccessKeyId", id), h("label", {}, "AccessKeySecret", secretInput), h("button", { type: "submit" }, "Sign in"));
    main.replaceChildren(form, slot);
    const nav = document.getElementById("nav");
    nav.hidden = true;
    // The last key's rights must not show, even for a moment, beside the next key.
    const may = nav.querySelector(".may");
    may.textContent = "";
    may.removeAttribute("title");
}
// signOut routes once: clearing a non-empty hash fires hashchange, which routes; a second
// render would replace a sign-in form someone is already typing into.
function signOut() {
    sessionStorage.removeItem(storageKey);
    if (location.hash)
        location.hash = "";
    else
        route();
}
// offered are the actions the console may offer; sign-in asks which this key may call.
const offered = [
    "GetSecretValue", "DescribeSecret", "ListKmsInstances", "CreateKmsInstance", "RenewKmsInstance", "CreateBackup", "ListSecrets", "CreateSecret",
    "ListKeys", "CreateKey", "RotateSecret", "UpdateSecretRotationPolicy", access.sections[0].list, access.keysAction,
];
let rights = null;
function context(s, main) {
    const client = new Client(s.endpoint, s);
    return {
        client,
        main,
        navigate: (hash) => {
            if (location.hash === hash)
                route();
            else
                location.hash = hash;
        },
        supports: async (action) => {
            rights ??= client.allowed(offered).catch(() => new Map());
            return (await rights).get(action) ?? false;
        },
    };
}
async function route() {
    const main = document.getElementById("main");
    const s = loadSession();
    if (!s) {
        rights = null;
        signIn(main);
        return;
    }
    const nav = document.getElementById("nav");
    nav.hidden = false;
    nav.querySelector(".who").textContent = `${s.accessKeyId} at ${s.endpoint}`;
    const ctx = context(s, main);
    const accessLink = nav.querySelector("a[href='#/access']");
    Promise.all([ctx.supports(access.sections[0].list), ctx.supports(access.keysAction)]).then((yes) => (accessLink.hidden = !yes.some(Boolean)));
    rights?.then((r) => {
        nav.querySelector(".may").textContent = `may call ${[...r.values()].filter(Boolean).length} of ${r.size} console actions`;
        nav.querySelector(".may").setAttribute("title", [...r].map(([a, ok]) => `${ok ? "✓" : "✗"} ${a}`).join("\n"));
    });
    const hash = location.hash.replace(/^#\/?/, "");
    const [path, q = ""] = hash.split("?");
    const query = new URLSearchParams(q);
    for (const a of nav.querySelectorAll("a"))
        a.classList.toggle("active", path.startsWith(a.getAttribute("href").slice(2)));
    try {
        if (path.startsWith("secret/"))
            await secret.render(ctx, decodeURIComponent(path.slice("secret/".length)));
        else if (path === "secrets")
            await secrets.render(ctx, query);
        else if (path === "keys")
            await keys.render(ctx);
        else if (path === "access")
            await access.render(ctx);
        else
            await instances.render(ctx);
    }
    catch (e) {
        // A view that could not finish says why rather than leaving a blank page.
        main.append(h("div", { class: "error", role: "alert" }, e instanceof ApiError ? `${e.code}: ${e.message}` : String(e)));
    }
}
document.getElementById("signout").addEventListener("click", signOut);
window.addEventListener("hashchange", () => {
    notice("");
    route();
});
route();

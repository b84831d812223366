// The access view: access keys (create, disable, enable, delete), then application access
// points, their policies and the network rules those policies name. Each of those sections lists
// names and then describes each one, showing every field the endpoint returns, so new fields
// appear without a console change.
import { actButton, attempt, busy, errorBox, h, list, notice, table, when } from "../dom.js";
// keysAction lists access keys; the nav shows Access where the key may call it or sections[0].list.
export const keysAction = "ListAccessKeys";
function keyRow(ctx, k, slot) {
    const id = k.AccessKeyId;
    const done = () => render(ctx);
    const params = { UserAccessKeyId: id };
    const active = k.Status === "Active";
    return h("tr", { "data-access-key": id }, h("td", {}, h("code", {}, id)), h("td", { class: "state" }, active ? "Active" : "Disabled"), h("td", {}, k.Admin ? "admin (every permission)" : k.AapName ? `access point ${k.AapName}` : "—"), h("td", {}, k.Description || "—"), h("td", {}, when(k.CreateTime)), h("td", { class: "actions" }, active
        ? actButton(ctx.client, "disable", "Disable", slot, { label: `Disabling ${id}`, action: "DisableAccessKey", params }, done, `Disable ${id}? Every call signed with it is refused until it is enabled again.`)
        : actButton(ctx.client, "enable", "Enable", slot, { label: `Enabling ${id}`, action: "EnableAccessKey", params }, done), actButton(ctx.client, "delete", "Delete", slot, { label: `Deleting ${id}`, action: "DeleteAccessKey", params }, done, `Delete ${id} for good? Every call signed with it is refused from now on, and it cannot be restored.`)));
}
// shownOnce holds a new key's secret for the user to copy: Coffer never shows it again, and the
// console keeps it nowhere but in this box until Hide or the next view.
function shownOnce(id, secret) {
    const box = h("div", { class: "banner once", role: "alert" }, h("strong", {}, "Shown once: copy the secret now. Coffer never shows it again."), h("dl", {}, h("dt", {}, "AccessKeyId"), h("dd", {}, h("code", { class: "key-id" }, id)), h("dt", {}, "AccessKeySecret"), h("dd", {}, h("code", { class: "key-secret" }, secret))), h("button", { type: "button", "on:click": () => box.remove() }, "Hide"));
    return box;
}
function createKeyForm(ctx, points, slot) {
    // An access point comes first, so the least privilege is what a plain submit creates.
    const kind = h("select", { name: "AapName" }, points.map((p) => h("option", { value: p }, `access point ${p}`)), h("option", { value: "" }, "admin (every permission)"));
    const desc = h("input", { name: "Description", placeholder: "description", maxlength: "256" });
    const submit = async (e) => {
        e.preventDefault();
        notice("");
        const params = kind.value ? { AapName: kind.value, Description: desc.value } : { Admin: "true", Description: desc.value };
        let made = {};
        if (await attempt(slot, "Creating an access key", async () => void (made = await ctx.client.call("CreateAccessKey", params)))) {
            await render(ctx);
            // Above the list, or atop the view if the list failed to load: the secret is never lost.
            const box = shownOnce(String(made.AccessKeyId), String(made.AccessKeySecret));
            const heading = ctx.main.querySelector(`[data-section="${keysAction}"] h2`);
            if (heading)
                heading.after(box);
            else
                ctx.main.prepend(box);
            notice(`Done: Creating ${String(made.AccessKeyId)}.`);
        }
    };
    return h("form", { class: "create-key", "on:submit": submit }, h("strong", {}, "New access key "), h("label", {}, "for ", kind), desc, h("button", { type: "submit" }, "Create"));
}
async function keysSection(ctx, points) {
    const keys = await ctx.client.pages(keysAction, {}, (b) => list(b, "AccessKeys", "AccessKey"));
    const slot = h("div", { class: "slot" });
    return h("section", { class: "group", "data-section": keysAction }, h("h2", {}, "Access keys"), h("p", { class: "note" }, "What SDKs and this console sign calls with. A key cannot disable or delete itself."), table(["AccessKeyId", "Status", "Acts as", "Description", "Created", ""], keys.map((k) => keyRow(ctx, k, slot)), "access-keys"), createKeyForm(ctx, points, slot), slot);
}
// accessPointNames are the access points a new key may act for, when the key may list them.
async function accessPointNames(client, may) {
    if (!may)
        return [];
    const aps = await client.pages(sections[0].list, {}, (b) => list(b, sections[0].outer, sections[0].inner));
    return aps.map((a) => a.Name);
}
export const sections = [
    {
        title: "Application access points",
        note: "What an application authenticates as, and the policies it gets.",
        list: "ListApplicationAccessPoints",
        outer: "ApplicationAccessPoints",
        inner: "ApplicationAccessPoint",
        describe: "DescribeApplicationAccessPoint",
    },
    {
        title: "Policies",
        note: "Permissions on resources, allowed only from the network rules named in AccessControlRules.",
        list: "ListPolicies",
        outer: "Policies",
        inner: "Policy",
        describe: "DescribePolicy",
    },
    {
        title: "Network rules",
        note: "Source addresses a policy accepts calls from.",
        list: "ListNetworkRules",
        outer: "NetworkRules",
        inner: "NetworkRule",
        describe: "DescribeNetworkRule",
    },
];
// cell shows a field; JSON strings (lists and rule objects) are shown unpacked.
export function cell(v) {
    if (typeof v === "string" && /^[[{]/.test(v)) {
        try {
            v = JSON.parse(v);
        }
        catch {
            return v;
        }
    }
    if (Array.isArray(v))
        return v.map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x))).join(", ");
    if (v && typeof v === "object") {
        return Object.entries(v)
            .map(([k, x]) => `${k}: ${cell(Array.isArray(x) ? x : JSON.stringify(x))}`)
            .join("; ");
    }
    return v === undefined || v === null || v === "" ? "—" : String(v);
}
async function section(ctx, s) {
    const names = await ctx.client.pages(s.list, {}, (b) => list(b, s.outer, s.inner));
    const items = await Promise.all(names.map((n) => ctx.client.call(s.describe, { Name: n.Name }).catch((e) => ({ Name: n.Name, error: e }))));
    const columns = [...new Set(["Name", ...items.flatMap((b) => Object.keys(b))])].filter((k) => k !== "RequestId" && k !== "Arn" && k !== "error");
    const rows = items.map((b) => h("tr", { "data-name": String(b.Name) }, b.error ? [h("td", {}, String(b.Name)), h("td", { colspan: String(Math.max(1, columns.length - 1)) }, errorBox(b.error))] : columns.map((c) => h("td", {}, cell(b[c])))));
    return h("section", { class: "group", "data-section": s.list }, h("h2", {}, s.title), h("p", { class: "note" }, s.note), rows.length ? table(columns, rows) : h("p", {}, "None yet."));
}
export async function render(ctx) {
    const { main } = ctx;
    try {
        const parts = await busy("Loading access control", async () => {
            const [keys, points] = await Promise.all([ctx.supports(keysAction), ctx.supports(sections[0].list)]);
            const names = await accessPointNames(ctx.client, points);
            return Promise.all([...(keys ? [keysSection(ctx, names)] : []), ...(points ? sections.map((s) => section(ctx, s)) : [])]);
        });
        main.replaceChildren(h("h1", {}, "Access"), ...parts);
    }
    catch (e) {
        main.replaceChildren(h("h1", {}, "Access"), errorBox(e));
    }
}

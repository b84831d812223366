// The access view: application access points, their policies and the network rules those
// policies name. Each section lists names and then describes each one, showing every field the
// endpoint returns, so new fields appear without a console change.

import { Body } from "../api.js";
import { busy, errorBox, h, list, table } from "../dom.js";
import { Ctx } from "./context.js";

interface Section {
  title: string;
  note: string;
  list: string;
  outer: string;
  inner: string;
  describe: string;
}

export const sections: Section[] = [
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
export function cell(v: unknown): string {
  if (typeof v === "string" && /^[[{]/.test(v)) {
    try {
      v = JSON.parse(v);
    } catch {
      return v as string;
    }
  }
  if (Array.isArray(v)) return v.map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x))).join(", ");
  if (v && typeof v === "object") {
    return Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}: ${cell(Array.isArray(x) ? x : JSON.stringify(x))}`)
      .join("; ");
  }
  return v === undefined || v === null || v === "" ? "—" : String(v);
}

async function section(ctx: Ctx, s: Section): Promise<HTMLElement> {
  const names = await ctx.client.pages<{ Name: string }>(s.list, {}, (b) => list(b, s.outer, s.inner));
  const items = await Promise.all(
    names.map((n) => ctx.client.call(s.describe, { Name: n.Name }).catch((e: unknown) => ({ Name: n.Name, error: e }) as Body)),
  );
  const columns = [...new Set(["Name", ...items.flatMap((b) => Object.keys(b))])].filter((k) => k !== "RequestId" && k !== "Arn" && k !== "error");
  const rows = items.map((b) =>
    h(
      "tr",
      { "data-name": String(b.Name) },
      b.error ? [h("td", {}, String(b.Name)), h("td", { colspan: String(Math.max(1, columns.length - 1)) }, errorBox(b.error))] : columns.map((c) => h("td", {}, cell(b[c]))),
    ),
  );
  return h(
    "section",
    { class: "group", "data-section": s.list },
    h("h2", {}, s.title),
    h("p", { class: "note" }, s.note),
    rows.length ? table(columns, rows) : h("p", {}, "None yet."),
  );
}

export async function render(ctx: Ctx): Promise<void> {
  const { main } = ctx;
  try {
    const parts = await busy("Loading access control", () => Promise.all(sections.map((s) => section(ctx, s))));
    main.replaceChildren(h("h1", {}, "Access"), ...parts);
  } catch (e) {
    main.replaceChildren(h("h1", {}, "Access"), errorBox(e));
  }
}

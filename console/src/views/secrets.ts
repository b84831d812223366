// The secrets view: one list of every secret, grouped by instance with the shared pool as its own
// group, so a secret created without an instance is never invisible.

import { Body } from "../api.js";
import { busy, callForm, day, errorBox, h, list, table } from "../dom.js";
import { Ctx } from "./context.js";
import { Instance, loadInstances } from "./instances.js";
import { rotationClass, rotationSummary } from "./secret.js";

export const sharedPool = "shared";

interface SecretItem {
  SecretName: string;
  SecretType: string;
  PlannedDeleteTime?: string;
  DKMSInstanceId: string;
  Tags?: { Tag: { TagKey: string; TagValue: string }[] };
}

function tagText(s: SecretItem): string {
  return (s.Tags?.Tag ?? []).map((t) => `${t.TagKey}=${t.TagValue}`).join(", ");
}

// rotationCell fills in the rotation state of a managed secret once DescribeSecret answers.
function rotationCell(ctx: Ctx, s: SecretItem): HTMLElement {
  const cell = h("td", { class: "rotation" });
  if (s.SecretType === "Generic") {
    cell.textContent = "by the producer (put a value)";
    return cell;
  }
  cell.textContent = "…";
  ctx.client.call("DescribeSecret", { SecretName: s.SecretName }).then(
    (b: Body) => {
      cell.textContent = rotationSummary(b);
      cell.className = rotationClass(b);
    },
    (e: unknown) => cell.replaceChildren(errorBox(e)),
  );
  return cell;
}

function group(ctx: Ctx, title: HTMLElement, note: string, secrets: SecretItem[], id: string): HTMLElement {
  const rows = secrets.map((s) =>
    h(
      "tr",
      { "data-secret": s.SecretName },
      h("td", {}, h("a", { href: `#/secret/${encodeURIComponent(s.SecretName)}` }, s.SecretName)),
      h("td", {}, s.SecretType),
      h("td", {}, tagText(s)),
      rotationCell(ctx, s),
      h("td", {}, s.PlannedDeleteTime ? `deleted on ${day(s.PlannedDeleteTime)}` : "—"),
    ),
  );
  return h(
    "section",
    { class: "group", "data-group": id },
    h("h2", {}, title),
    note ? h("p", { class: "note" }, note) : "",
    rows.length ? table(["Name", "Type", "Tags", "Rotation", "Planned deletion"], rows) : h("p", {}, "No secrets."),
  );
}

function createForm(ctx: Ctx, insts: Instance[], selected: string, slot: HTMLElement): HTMLElement {
  const name = h("input", { name: "SecretName", required: true, placeholder: "name, such as app/db-password", maxlength: "192" });
  const value = h("textarea", { name: "SecretData", required: true, rows: "2", placeholder: "value", autocomplete: "off" });
  const where = h(
    "select",
    { name: "DKMSInstanceId" },
    h("option", { value: "" }, "shared pool"),
    insts.map((i) => h("option", { value: i.InstanceId, selected: i.InstanceId === selected }, i.InstanceId)),
  );
  const key = h("input", { name: "EncryptionKeyId", placeholder: "key id (needed in an instance)" });
  return callForm(
    ctx.client,
    "create",
    slot,
    () => {
      return {
        label: `Creating ${name.value}`,
        action: "CreateSecret",
        params: {
          SecretName: name.value,
          VersionId: "v1",
          SecretData: value.value,
          DKMSInstanceId: where.value,
          EncryptionKeyId: key.value,
        },
      };
    },
    () => ctx.navigate(`#/secret/${encodeURIComponent(name.value)}`),
    h("strong", {}, "New generic secret"),
    name,
    value,
    h("label", {}, "in ", where),
    key,
    h("button", { type: "submit" }, "Create"),
  );
}

export async function render(ctx: Ctx, query: URLSearchParams): Promise<void> {
  const { main } = ctx;
  const selected = query.get("instance") ?? "";
  let insts: Instance[];
  let secrets: SecretItem[];
  let canCreate: boolean;
  try {
    [insts, secrets, canCreate] = await busy("Loading secrets", () =>
      Promise.all([
        loadInstances(ctx.client),
        ctx.client.pages<SecretItem>("ListSecrets", { FetchTags: "true" }, (b) => list(b, "SecretList", "Secret")),
        ctx.supports("CreateSecret"),
      ]),
    );
  } catch (e) {
    main.replaceChildren(h("h1", {}, "Secrets"), errorBox(e));
    return;
  }
  const filter = h(
    "select",
    { name: "instance", "on:change": () => ctx.navigate(filter.value ? `#/secrets?instance=${encodeURIComponent(filter.value)}` : "#/secrets") },
    h("option", { value: "" }, "all instances and the shared pool"),
    h("option", { value: sharedPool, selected: selected === sharedPool }, "shared pool only"),
    insts.map((i) => h("option", { value: i.InstanceId, selected: i.InstanceId === selected }, `${i.InstanceId} (${i.InstanceName})`)),
  );
  const groups: HTMLElement[] = [];
  if (selected === "" || selected === sharedPool) {
    groups.push(
      group(ctx, h("span", {}, "Shared pool"), "Created without DKMSInstanceId. Never expires.", secrets.filter((s) => !s.DKMSInstanceId), sharedPool),
    );
  }
  const known = new Set(insts.map((i) => i.InstanceId));
  for (const inst of insts) {
    if (selected !== "" && selected !== inst.InstanceId) continue;
    const expired = inst.Status !== "Connected";
    groups.push(
      group(
        ctx,
        h("span", {}, inst.InstanceName && inst.InstanceName !== inst.InstanceId ? `${inst.InstanceName} ` : "", h("small", {}, inst.InstanceId), expired ? h("span", { class: "status expired" }, inst.Status) : ""),
        expired ? "This instance has expired: reads of its secrets answer Rejected.Unavailable until it is renewed." : "",
        secrets.filter((s) => s.DKMSInstanceId === inst.InstanceId),
        inst.InstanceId,
      ),
    );
  }
  // A secret whose instance is gone from the list still shows, rather than vanishing.
  const orphans = secrets.filter((s) => s.DKMSInstanceId && !known.has(s.DKMSInstanceId));
  if (selected === "" && orphans.length) {
    groups.push(group(ctx, h("span", {}, "Unknown instances"), "These secrets name an instance the endpoint does not list.", orphans, "unknown"));
  }
  const search = h("input", {
    type: "search",
    name: "search",
    placeholder: "search by name",
    "on:input": () => {
      const q = search.value.trim().toLowerCase();
      for (const tr of main.querySelectorAll<HTMLElement>("tr[data-secret]")) tr.hidden = q !== "" && !tr.dataset.secret!.toLowerCase().includes(q);
    },
  });
  const slot = h("div", { class: "slot" });
  main.replaceChildren(
    h("h1", {}, "Secrets"),
    h("p", { class: "filter" }, h("label", {}, "Show ", filter), " ", search, ` ${secrets.length} secrets in all`),
    ...groups,
    canCreate ? createForm(ctx, insts, selected === sharedPool ? "" : selected, slot) : "",
    slot,
  );
}

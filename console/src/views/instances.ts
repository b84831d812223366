// The instances view: each KMS instance's dates and state, with what expiry means spelled out.

import { Body, Client } from "../api.js";
import { addDays, attempt, busy, callForm, day, daysBetween, errorBox, h, list, table, when } from "../dom.js";
import { Ctx } from "./context.js";

// graceDays is how long an expired instance can still be renewed before it is released.
export const graceDays = 15;

export interface Instance {
  InstanceId: string;
  InstanceName: string;
  Status: string;
  StartDate: string;
  EndDate: string;
  SecretNum: string;
  KeyNum: number;
}

export async function loadInstances(client: Client): Promise<Instance[]> {
  const ids = await client.pages<{ KmsInstanceId: string }>("ListKmsInstances", {}, (b) => list(b, "KmsInstances", "KmsInstance"));
  return Promise.all(
    ids.map(async (i) => (await client.call("GetKmsInstance", { KmsInstanceId: i.KmsInstanceId })).KmsInstance as Instance),
  );
}

// expiringSoon is an active instance with a day or less left: shown as a warning, not as healthy.
export function expiringSoon(inst: Instance, now = new Date()): boolean {
  return inst.Status === "Connected" && daysBetween(now, new Date(inst.EndDate)) <= 1;
}

// statusOf is the state an instance row shows, with the class that colours it.
export function statusOf(inst: Instance, now = new Date()): [string, string] {
  if (inst.Status !== "Connected") return [inst.Status, inst.Status.toLowerCase()];
  return expiringSoon(inst, now) ? ["Expires soon", "warning"] : ["Active", "connected"];
}

export function releaseDate(inst: Instance): Date {
  return addDays(new Date(inst.EndDate), graceDays);
}

// timeLeft says, in days, how long until expiry or until release.
export function timeLeft(inst: Instance, now = new Date()): string {
  const end = new Date(inst.EndDate);
  switch (inst.Status) {
    case "Expired": {
      const left = Math.max(0, daysBetween(now, releaseDate(inst)));
      return `${left} of ${graceDays} grace days left (released on ${day(releaseDate(inst))})`;
    }
    case "Released":
      return `released on ${day(releaseDate(inst))}`;
    default: {
      const left = daysBetween(now, end);
      return left === 1 ? "expires within a day" : `${left} days until expiry`;
    }
  }
}

// expiredBanner tells what an expired instance means now and what happens next.
export function expiredBanner(inst: Instance): HTMLElement {
  const name = inst.InstanceName && inst.InstanceName !== inst.InstanceId ? ` (${inst.InstanceName})` : "";
  if (inst.Status === "Released") {
    return h(
      "div",
      { class: "banner expired", role: "alert" },
      h("strong", {}, `${inst.InstanceId}${name} was released on ${day(releaseDate(inst))}.`),
      " Its keys and secrets are deleted; restore the backup taken at release to get them back.",
    );
  }
  return h(
    "div",
    { class: "banner expired", role: "alert" },
    h("strong", {}, `${inst.InstanceId}${name} expired on ${when(inst.EndDate)}.`),
    " Every call on its secrets and keys now answers ",
    h("code", {}, "Rejected.Unavailable"),
    `. Renew it before ${day(releaseDate(inst))} to restore access with no data change. After that it is released: Coffer takes a backup, then deletes its keys and secrets.`,
  );
}

function defaultRenewal(inst: Instance): string {
  const from = Math.max(Date.now(), new Date(inst.EndDate).getTime());
  return day(addDays(new Date(from), 365));
}

function renewForm(ctx: Ctx, inst: Instance, slot: HTMLElement): HTMLElement {
  const date = h("input", { type: "date", name: "EndDate", required: true, value: defaultRenewal(inst) });
  return callForm(
    ctx.client,
    "inline",
    slot,
    () => ({ label: `Renewing ${inst.InstanceId}`, action: "RenewKmsInstance", params: { KmsInstanceId: inst.InstanceId, EndDate: `${date.value}T00:00:00Z` } }),
    () => render(ctx),
    h("label", {}, "New end date ", date),
    h("button", { type: "submit" }, "Renew"),
  );
}

// instanceActions are what a row offers, asked of CheckPermissions for that instance.
const instanceActions = ["RenewKmsInstance", "CreateBackup"];

function actions(ctx: Ctx, inst: Instance, may: Map<string, boolean>): HTMLElement {
  const slot = h("div", { class: "slot" });
  const cell = h("td", { class: "actions" });
  if (may.get("RenewKmsInstance")) {
    const renew = h("button", { type: "button", class: "renew", "on:click": () => renew.replaceWith(renewForm(ctx, inst, slot)) }, "Renew…");
    cell.append(renew);
  }
  if (may.get("CreateBackup")) {
    cell.append(
      h(
        "button",
        {
          type: "button",
          class: "backup",
          "on:click": () =>
            attempt(slot, `Backing up ${inst.InstanceId}`, async () => {
              const res = await ctx.client.call("CreateBackup", { KmsInstanceId: inst.InstanceId });
              slot.replaceChildren(h("div", { class: "ok" }, `Backup made: ${summary(res)}`));
            }),
        },
        "Back up",
      ),
    );
  }
  cell.append(slot);
  return cell;
}

// summary shows the fields of an answer other than RequestId, for actions whose shape may grow.
function summary(b: Body): string {
  return Object.entries(b)
    .filter(([k]) => k !== "RequestId")
    .map(([k, v]) => `${k} ${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
    .join(", ");
}

function createForm(ctx: Ctx, slot: HTMLElement): HTMLElement {
  const name = h("input", { name: "KmsInstanceName", placeholder: "name (optional)", maxlength: "128" });
  const end = h("input", { type: "date", name: "EndDate", required: true, value: day(addDays(new Date(), 365)) });
  return callForm(
    ctx.client,
    "inline",
    slot,
    () => ({ label: "Creating an instance", action: "CreateKmsInstance", params: { KmsInstanceName: name.value, EndDate: `${end.value}T00:00:00Z` } }),
    () => render(ctx),
    h("strong", {}, "New instance "),
    name,
    h("label", {}, " until ", end),
    h("button", { type: "submit" }, "Create"),
  );
}

export async function render(ctx: Ctx): Promise<void> {
  const { main } = ctx;
  let insts: Instance[];
  let rights: Map<string, boolean>[];
  let canCreate: boolean;
  try {
    [insts, canCreate] = await busy("Loading instances", () => Promise.all([loadInstances(ctx.client), ctx.supports("CreateKmsInstance")]));
    // Each row offers what this key may do on that instance; a failed probe offers nothing.
    rights = await busy("Loading rights", () =>
      Promise.all(insts.map((i) => ctx.client.allowed(instanceActions, { KmsInstanceId: i.InstanceId }).catch(() => new Map<string, boolean>()))),
    );
  } catch (e) {
    main.replaceChildren(h("h1", {}, "KMS instances"), errorBox(e));
    return;
  }
  const slot = h("div", { class: "slot" });
  const rows = insts.map((inst, i) => {
    const [status, cls] = statusOf(inst);
    return h(
      "tr",
      { class: inst.Status === "Connected" ? (cls === "warning" ? "warning" : "") : "expired", "data-instance": inst.InstanceId },
      h("td", {}, h("a", { href: `#/secrets?instance=${encodeURIComponent(inst.InstanceId)}` }, inst.InstanceId), h("br"), h("small", {}, inst.InstanceName)),
      h("td", {}, h("span", { class: `status ${cls}` }, status)),
      h("td", {}, when(inst.StartDate)),
      h("td", {}, when(inst.EndDate)),
      h("td", { class: "left" }, timeLeft(inst)),
      h("td", {}, inst.SecretNum),
      h("td", {}, String(inst.KeyNum)),
      actions(ctx, inst, rights[i]),
    );
  });
  rows.unshift(
    h(
      "tr",
      { "data-instance": "" },
      h("td", {}, h("a", { href: "#/secrets?instance=shared" }, "Shared pool"), h("br"), h("small", {}, "secrets created without DKMSInstanceId")),
      h("td", {}, h("span", { class: "status connected" }, "Active")),
      h("td", {}, "—"),
      h("td", {}, "—"),
      h("td", { class: "left" }, "never expires"),
      h("td", {}, "see Secrets"),
      h("td", {}, "—"),
      h("td", {}),
    ),
  );
  main.replaceChildren(
    h("h1", {}, "KMS instances"),
    ...insts.filter((i) => i.Status !== "Connected").map(expiredBanner),
    table(["Instance", "Status", "Start", "End", "Time left", "Secrets", "Keys", ""], rows, "instances"),
    canCreate ? createForm(ctx, slot) : "",
    slot,
  );
}

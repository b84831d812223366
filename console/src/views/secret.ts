// The secret view: details, rotation in words, versions with their stages, and the actions on
// them. The value is fetched only when the user asks for it, and never before.

import { ApiError, Body } from "../api.js";
import { actButton, attempt, busy, callForm, errorBox, h, list, table, when } from "../dom.js";
import { Ctx } from "./context.js";

interface Version {
  VersionId: string;
  CreateTime: string;
  VersionStages: { VersionStage: string[] };
}

// shown are the DescribeSecret fields this view places itself; any other field the endpoint adds
// (rotation state, policies, ...) is listed under "More" so a new field is never hidden.
const shown = new Set([
  "RequestId", "Arn", "SecretName", "SecretType", "Description", "EncryptionKeyId", "CreateTime", "UpdateTime",
  "PlannedDeleteTime", "AutomaticRotation", "RotationInterval", "LastRotationDate", "NextRotationDate",
  "DKMSInstanceId", "Tags", "ExtendedConfig", "RotationState",
]);

// interval turns the protocol's "604800s" into words.
export function interval(s: string): string {
  const secs = Number(s.replace(/s$/, ""));
  if (!Number.isFinite(secs) || secs <= 0) return s;
  if (secs % 86400 === 0) return `${secs / 86400} days`;
  if (secs % 3600 === 0) return `${secs / 3600} hours`;
  return `${secs} seconds`;
}

function words(v: unknown): string {
  if (v === null || v === undefined || v === "") return "—";
  if (typeof v === "object") {
    return Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}: ${typeof x === "object" ? JSON.stringify(x) : String(x)}`)
      .join("; ");
  }
  return String(v);
}

// rotationSummary says a secret's rotation policy and state in one line.
export function rotationSummary(b: Body): string {
  if (b.SecretType === "Generic") return "by the producer (put a value)";
  const parts: string[] = [];
  if (b.AutomaticRotation === "Enabled") {
    parts.push(`automatic every ${interval(String(b.RotationInterval ?? ""))}, next ${when(b.NextRotationDate)}`);
  } else {
    parts.push("automatic rotation off");
  }
  if (b.LastRotationDate) parts.push(`last ${when(b.LastRotationDate)}`);
  const state = b.RotationState as RotationState | undefined;
  if (state) parts.push(rotationStateWords(state));
  return parts.join("; ");
}

// rotationClass styles the rotation line as a state: failed (red) or running (amber), with the
// words of rotationStateWords giving the cause.
export function rotationClass(b: Body): string {
  const state = b.RotationState as RotationState | undefined;
  if (!state) return "rotation";
  return state.Failed ? "rotation state failed" : "rotation state running";
}

// RotationState is Coffer's DescribeSecret extension: where a rotation in progress or failed stands.
export interface RotationState {
  Step: string;
  VersionId: string;
  Attempt: number;
  Started: string;
  WindowEnd?: string;
  LastError?: string;
  Failed: boolean;
  NextAttempt?: string;
  LockHolder?: string;
}

// steps say what each step of the rotation does, in the engine's order.
const steps: Record<string, string> = {
  apply: "changing the target's credential to the new value",
  test: "logging in to the target with the new value",
  promote: "moving ACSCurrent to the new version",
};

// rotationStateWords explains a rotation, so "being rotated" always comes with a why.
export function rotationStateWords(st: RotationState): string {
  const step = `step ${st.Step} (${steps[st.Step] ?? "unknown step"})`;
  const out = st.Failed
    ? [`rotation to ${st.VersionId} FAILED at ${step} after ${st.Attempt} attempts`]
    : [`rotating to ${st.VersionId} since ${when(st.Started)}: ${step}, attempt ${st.Attempt}`];
  if (st.LastError) out.push(`last error: ${st.LastError}`);
  if (st.NextAttempt) out.push(`next attempt ${when(st.NextAttempt)}`);
  if (st.WindowEnd) out.push(`old credential revoked after ${when(st.WindowEnd)}`);
  if (st.LockHolder) out.push(`held by ${st.LockHolder}`);
  return out.join("; ");
}

function dl(items: [string, Node | string][]): HTMLElement {
  return h("dl", {}, items.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

// valuePanel reveals a version's value only after a click, and hides it again on request.
function valuePanel(ctx: Ctx, name: string, versionId = ""): HTMLElement {
  const slot = h("div", { class: "value-slot" });
  const label = versionId ? `Reveal ${versionId}` : "Reveal current value";
  const reveal: HTMLButtonElement = h(
    "button",
    {
      type: "button",
      class: "reveal",
      "on:click": () =>
        attempt(slot, `Reading ${name}`, async () => {
          const params: Record<string, string> = { SecretName: name };
          if (versionId) params.VersionId = versionId;
          const b = await ctx.client.call("GetSecretValue", params);
          const forget = () => slot.querySelectorAll<HTMLAnchorElement>("a.download").forEach((a) => URL.revokeObjectURL(a.href));
          const hide = h("button", { type: "button", "on:click": () => (forget(), slot.replaceChildren()) }, "Hide");
          const data = String(b.SecretData ?? "");
          if (b.SecretDataType === "binary") slot.replaceChildren(...binaryValue(name, data), hide);
          else slot.replaceChildren(h("pre", { class: "value" }, data), hide);
        }),
    },
    label,
  );
  return h("div", { class: "value-panel" }, reveal, slot);
}

// binaryValue shows a binary value (base64 on the wire) as its size and a Download link, since
// its base64 text tells a reader nothing. The link holds the value only while it is shown.
function binaryValue(name: string, base64: string): HTMLElement[] {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const file = name.split("/").pop() || "secret";
  const href = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  const link = h("a", { class: "download", href, download: file + ".bin" }, "Download");
  return [h("span", { class: "value binary" }, `Binary value, ${bytes.length.toLocaleString("en")} bytes`), link];
}

function versionId(): string {
  return "v" + new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
}

function putForm(ctx: Ctx, name: string, slot: HTMLElement): HTMLElement {
  const id = h("input", { name: "VersionId", required: true, value: versionId(), maxlength: "64" });
  const data = h("textarea", { name: "SecretData", required: true, rows: "2", autocomplete: "off", placeholder: "new value" });
  const stages = h("input", { name: "VersionStages", placeholder: "stages, comma-separated (default: ACSCurrent)" });
  return callForm(
    ctx.client,
    "put",
    slot,
    () => {
      const list = stages.value.split(",").map((s) => s.trim()).filter(Boolean);
      return {
        label: `Putting ${id.value}`,
        action: "PutSecretValue",
        params: {
          SecretName: name,
          VersionId: id.value,
          SecretData: data.value,
          VersionStages: list.length ? JSON.stringify(list) : "",
        },
      };
    },
    () => render(ctx, name),
    h("strong", {}, "Put a new value"),
    h("label", {}, "Version ", id),
    data,
    stages,
    h("button", { type: "submit" }, "Put"),
  );
}

function moveForm(ctx: Ctx, name: string, versions: Version[], slot: HTMLElement): HTMLElement {
  const holder = new Map<string, string>();
  for (const v of versions) for (const s of v.VersionStages.VersionStage) holder.set(s, v.VersionId);
  const stage = h("input", { name: "VersionStage", required: true, list: "stages", placeholder: "stage" });
  const to = h("select", { name: "MoveToVersion" }, versions.map((v) => h("option", { value: v.VersionId }, v.VersionId)));
  return callForm(
    ctx.client,
    "move",
    slot,
    () => {
      const from = holder.get(stage.value) ?? "";
      return {
        label: `Moving ${stage.value}`,
        action: "UpdateSecretVersionStage",
        params: {
          SecretName: name,
          VersionStage: stage.value,
          MoveToVersion: to.value,
          RemoveFromVersion: from === to.value ? "" : from,
        },
      };
    },
    () => render(ctx, name),
    h("strong", {}, "Move a stage"),
    stage,
    h("datalist", { id: "stages" }, [...new Set(["ACSCurrent", "ACSPrevious", ...holder.keys()])].map((s) => h("option", { value: s }))),
    h("label", {}, "to ", to),
    h("button", { type: "submit" }, "Move"),
  );
}

function rotateButton(ctx: Ctx, name: string, slot: HTMLElement): HTMLElement {
  return h(
    "button",
    {
      type: "button",
      class: "rotate",
      "on:click": async () => {
        const ok = await attempt(slot, `Rotating ${name}`, async () => {
          await ctx.client.call("RotateSecret", { SecretName: name, VersionId: versionId() });
        });
        if (ok) await render(ctx, name);
      },
    },
    "Rotate now",
  );
}

function policyForm(ctx: Ctx, name: string, desc: Body, slot: HTMLElement): HTMLElement {
  const enabled = h("input", { type: "checkbox", name: "EnableAutomaticRotation", checked: desc.AutomaticRotation === "Enabled" });
  const every = h("input", { name: "RotationInterval", value: String(desc.RotationInterval ?? "") || "30d", placeholder: "such as 7d or 168h" });
  return callForm(
    ctx.client,
    "policy",
    slot,
    () => {
      return {
        label: `Updating the rotation policy of ${name}`,
        action: "UpdateSecretRotationPolicy",
        params: {
          SecretName: name,
          EnableAutomaticRotation: String(enabled.checked),
          RotationInterval: enabled.checked ? every.value : "",
        },
      };
    },
    () => render(ctx, name),
    h("strong", {}, "Rotation policy"),
    h("label", {}, enabled, " automatic, every "),
    every,
    h("button", { type: "submit" }, "Save"),
  );
}

// lifecycleButtons delete a secret (with a 7-day recovery window, or at once after a confirm) or
// restore one planned for deletion, where the key may.
function lifecycleButtons(ctx: Ctx, name: string, planned: boolean, can: (action: string) => boolean, slot: HTMLElement): HTMLElement | "" {
  const done = () => render(ctx, name);
  const del = (params: Record<string, string>, label: string) => ({ label, action: "DeleteSecret", params: { SecretName: name, ...params } });
  const buttons = planned
    ? [can("RestoreSecret") && actButton(ctx.client, "restore", "Restore", slot, { label: `Restoring ${name}`, action: "RestoreSecret", params: { SecretName: name } }, done)]
    : [
        can("DeleteSecret") && actButton(ctx.client, "delete", "Delete (7-day recovery)", slot, del({ RecoveryWindowInDays: "7" }, `Scheduling ${name} for deletion`), done),
        can("DeleteSecret") &&
          actButton(ctx.client, "force-delete", "Delete now", slot, del({ ForceDeleteWithoutRecovery: "true" }, `Deleting ${name}`), done, `Delete ${name} and every version now, with no recovery?`),
      ];
  return buttons.some(Boolean) ? h("div", { class: "lifecycle" }, buttons) : "";
}

type Tag = { TagKey: string; TagValue: string };

// tagsCell shows a secret's tags, each with a remove button, and a form to add or change one,
// where the key may tag and untag this secret.
function tagsCell(ctx: Ctx, name: string, tags: Tag[], can: (action: string) => boolean, slot: HTMLElement): HTMLElement {
  const done = () => render(ctx, name);
  const items = tags.map((t) =>
    h(
      "span",
      { class: "tag", "data-tag": t.TagKey },
      `${t.TagKey}=${t.TagValue}`,
      can("UntagResource") &&
        actButton(ctx.client, "untag", "×", slot, { label: `Removing the tag ${t.TagKey} from ${name}`, action: "UntagResource", params: { SecretName: name, TagKeys: JSON.stringify([t.TagKey]) } }, done),
    ),
  );
  const key = h("input", { name: "TagKey", required: true, placeholder: "key", maxlength: "128" });
  const value = h("input", { name: "TagValue", required: true, placeholder: "value", maxlength: "128" });
  const form =
    can("TagResource") &&
    callForm(
      ctx.client,
      "tag",
      slot,
      () => ({ label: `Tagging ${name} with ${key.value}`, action: "TagResource", params: { SecretName: name, Tags: JSON.stringify([{ TagKey: key.value, TagValue: value.value }]) } }),
      done,
      key,
      value,
      h("button", { type: "submit" }, "Tag"),
    );
  return h("div", { class: "tags" }, items.length ? items : "—", form);
}

// cancelButton stops a running or failed rotation after a confirm: the pending version goes and
// ACSCurrent stays where it is.
function cancelButton(ctx: Ctx, name: string, st: RotationState, slot: HTMLElement): HTMLElement {
  return actButton(
    ctx.client,
    "cancel-rotation",
    "Cancel rotation",
    slot,
    { label: `Cancelling the rotation of ${name}`, action: "CancelSecretRotation", params: { SecretName: name } },
    () => render(ctx, name),
    `Cancel the rotation of ${name} to ${st.VersionId}? Its pending version is removed; ACSCurrent stays on the current version.`,
  );
}

// secretActions are what the page offers on a secret, asked of CheckPermissions for this secret
// when it opens, so a key that may act on some secrets only is offered nothing it would be refused.
const secretActions = [
  "PutSecretValue", "UpdateSecretVersionStage", "DeleteSecret", "RestoreSecret", "RotateSecret", "UpdateSecretRotationPolicy", "CancelSecretRotation",
  "TagResource", "UntagResource",
];

export async function render(ctx: Ctx, name: string): Promise<void> {
  const { main } = ctx;
  const head = h("h1", {}, name);
  const slot = h("div", { class: "slot" });
  let desc: Body | null = null;
  let versions: Version[] = [];
  let failure: HTMLElement | null = null;
  let missing = false;
  let deleting = false;
  // A failed probe offers nothing: the page fails closed.
  const rights = ctx.client.allowed(secretActions, { SecretName: name }).catch(() => new Map<string, boolean>());
  let versionsError: HTMLElement | null = null;
  try {
    [desc, versions] = await busy(`Loading ${name}`, () =>
      Promise.all([
        ctx.client.call("DescribeSecret", { SecretName: name, FetchTags: "true" }),
        // A key may describe a secret without listing its versions: the page still shows the rest.
        ctx.client
          .pages<Version>("ListSecretVersionIds", { SecretName: name, IncludeDeprecated: "true" }, (b) => list(b, "VersionIds", "VersionId"))
          .catch((e: unknown) => ((versionsError = errorBox(e)), [])),
      ]),
    );
  } catch (e) {
    failure = errorBox(e);
    missing = e instanceof ApiError && e.code === "Forbidden.ResourceNotFound";
    deleting = e instanceof ApiError && e.code === "Rejected.ResourceInDeleteWindow";
  }
  const may = await busy("Loading rights", () => rights);
  const can = (action: string) => may.get(action) ?? false;
  if (!desc) {
    // The value panel stays, so a failing read shows its own code too; a secret that does not
    // exist has no value to reveal, and one planned for deletion can only be restored.
    const restore = deleting ? lifecycleButtons(ctx, name, true, can, slot) : "";
    const banner = deleting ? h("div", { class: "banner expired", role: "alert" }, "Planned to be deleted; until then every call but RestoreSecret answers Rejected.ResourceInDeleteWindow.") : "";
    main.replaceChildren(head, banner, failure ?? "", missing || deleting ? "" : valuePanel(ctx, name), restore, slot);
    return;
  }
  const inst = String(desc.DKMSInstanceId ?? "");
  const tags = list<Tag>(desc, "Tags", "Tag");
  const managed = desc.SecretType !== "Generic";
  const rotating = desc.RotationState as RotationState | undefined;
  const more = Object.entries(desc).filter(([k]) => !shown.has(k));
  const rows = versions.map((v) =>
    h(
      "tr",
      { "data-version": v.VersionId },
      h("td", {}, v.VersionId),
      h("td", {}, when(v.CreateTime)),
      h("td", { class: "stages" }, v.VersionStages.VersionStage.length ? v.VersionStages.VersionStage.map((s) => h("span", { class: "stage" }, s)) : h("em", {}, "deprecated")),
      h("td", {}, valuePanel(ctx, name, v.VersionId)),
    ),
  );
  main.replaceChildren(
    head,
    desc.PlannedDeleteTime
      ? h("div", { class: "banner expired", role: "alert" }, `Planned to be deleted on ${when(desc.PlannedDeleteTime)}; until then every call but RestoreSecret answers Rejected.ResourceInDeleteWindow.`)
      : "",
    dl([
      ["Type", String(desc.SecretType ?? "")],
      ["Instance", inst ? h("a", { href: `#/secrets?instance=${encodeURIComponent(inst)}` }, inst) : "shared pool"],
      ["Encryption key", String(desc.EncryptionKeyId ?? "—")],
      ["Description", words(desc.Description)],
      ["Tags", tagsCell(ctx, name, tags, can, slot)],
      ["Created", when(desc.CreateTime)],
      ["Updated", when(desc.UpdateTime)],
    ]),
    h("h2", {}, "Rotation"),
    h("p", { class: rotationClass(desc) }, rotationSummary(desc)),
    rotating && can("CancelSecretRotation") ? cancelButton(ctx, name, rotating, slot) : "",
    more.length ? h("div", {}, h("h3", {}, "More"), dl(more.map(([k, v]) => [k, words(v)]))) : "",
    h("h2", {}, "Value"),
    valuePanel(ctx, name),
    h("h2", {}, "Versions"),
    versionsError ?? table(["Version", "Created", "Stages", "Value"], rows, "versions"),
    !managed && can("PutSecretValue") ? putForm(ctx, name, slot) : "",
    !managed && can("UpdateSecretVersionStage") && !versionsError ? moveForm(ctx, name, versions, slot) : "",
    managed && can("UpdateSecretRotationPolicy") ? policyForm(ctx, name, desc, slot) : "",
    managed && can("RotateSecret") ? rotateButton(ctx, name, slot) : "",
    lifecycleButtons(ctx, name, Boolean(desc.PlannedDeleteTime), can, slot),
    slot,
  );
}

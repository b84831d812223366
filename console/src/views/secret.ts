// The secret view: details, rotation in words, versions with their stages, and the actions on
// them. The value is fetched only when the user asks for it, and never before.

import { ApiError, Body } from "../api.js";
import { attempt, busy, callForm, errorBox, h, list, notice, table, when } from "../dom.js";
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
// restore one planned for deletion.
function lifecycleButtons(ctx: Ctx, name: string, planned: boolean, slot: HTMLElement): HTMLElement {
  const run = (cls: string, text: string, label: string, action: string, params: Record<string, string>, ask = "") =>
    h(
      "button",
      {
        type: "button",
        class: cls,
        "on:click": async () => {
          if (ask && !confirm(ask)) return;
          if (await attempt(slot, label, async () => void (await ctx.client.call(action, { SecretName: name, ...params })))) {
            await render(ctx, name);
            notice(`Done: ${label}.`);
          }
        },
      },
      text,
    );
  return h(
    "div",
    { class: "lifecycle" },
    planned
      ? run("restore", "Restore", `Restoring ${name}`, "RestoreSecret", {})
      : [
          run("delete", "Delete (7-day recovery)", `Scheduling ${name} for deletion`, "DeleteSecret", { RecoveryWindowInDays: "7" }),
          run("force-delete", "Delete now", `Deleting ${name}`, "DeleteSecret", { ForceDeleteWithoutRecovery: "true" }, `Delete ${name} and every version now, with no recovery?`),
        ],
  );
}

export async function render(ctx: Ctx, name: string): Promise<void> {
  const { main } = ctx;
  const head = h("h1", {}, name);
  const slot = h("div", { class: "slot" });
  let desc: Body | null = null;
  let versions: Version[] = [];
  let failure: HTMLElement | null = null;
  let missing = false;
  let deleting = false;
  try {
    [desc, versions] = await busy(`Loading ${name}`, () =>
      Promise.all([
        ctx.client.call("DescribeSecret", { SecretName: name, FetchTags: "true" }),
        ctx.client.pages<Version>("ListSecretVersionIds", { SecretName: name, IncludeDeprecated: "true" }, (b) => list(b, "VersionIds", "VersionId")),
      ]),
    );
  } catch (e) {
    failure = errorBox(e);
    missing = e instanceof ApiError && e.code === "Forbidden.ResourceNotFound";
    deleting = e instanceof ApiError && e.code === "Rejected.ResourceInDeleteWindow";
  }
  if (!desc) {
    // The value panel stays, so a failing read shows its own code too; a secret that does not
    // exist has no value to reveal, and one planned for deletion can only be restored.
    const restore = deleting ? lifecycleButtons(ctx, name, true, slot) : "";
    const banner = deleting ? h("div", { class: "banner expired", role: "alert" }, "Planned to be deleted; until then every call but RestoreSecret answers Rejected.ResourceInDeleteWindow.") : "";
    main.replaceChildren(head, banner, failure ?? "", missing || deleting ? "" : valuePanel(ctx, name), restore, slot);
    return;
  }
  const inst = String(desc.DKMSInstanceId ?? "");
  const tags = list<{ TagKey: string; TagValue: string }>(desc, "Tags", "Tag");
  const managed = desc.SecretType !== "Generic";
  const [canRotate, canSetPolicy] = managed
    ? await ctx.client.allowed(["RotateSecret", "UpdateSecretRotationPolicy"], { SecretName: name }).then(
        (r) => [r.get("RotateSecret") ?? false, r.get("UpdateSecretRotationPolicy") ?? false],
        () => [false, false],
      )
    : [false, false];
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
      ["Tags", tags.map((t) => `${t.TagKey}=${t.TagValue}`).join(", ") || "—"],
      ["Created", when(desc.CreateTime)],
      ["Updated", when(desc.UpdateTime)],
    ]),
    h("h2", {}, "Rotation"),
    h("p", { class: rotationClass(desc) }, rotationSummary(desc)),
    more.length ? h("div", {}, h("h3", {}, "More"), dl(more.map(([k, v]) => [k, words(v)]))) : "",
    h("h2", {}, "Value"),
    valuePanel(ctx, name),
    h("h2", {}, "Versions"),
    table(["Version", "Created", "Stages", "Value"], rows, "versions"),
    managed ? "" : putForm(ctx, name, slot),
    managed ? "" : moveForm(ctx, name, versions, slot),
    canSetPolicy ? policyForm(ctx, name, desc, slot) : "",
    canRotate ? rotateButton(ctx, name, slot) : "",
    lifecycleButtons(ctx, name, Boolean(desc.PlannedDeleteTime), slot),
    slot,
  );
}

// The keys view: every key with its instance and state; a key of an expired instance shows the
// error its calls answer.

import { Body } from "../api.js";
import { actButton, busy, callForm, errorBox, h, list, table, when } from "../dom.js";
import { Ctx } from "./context.js";
import { Instance, loadInstances } from "./instances.js";

// toggle enables a disabled key or disables an enabled one, and re-renders with a confirmation.
function toggle(ctx: Ctx, id: string, state: string): HTMLElement {
  const slot = h("div", { class: "slot" });
  const disable = state === "Enabled";
  const button = actButton(
    ctx.client,
    disable ? "disable" : "enable",
    disable ? "Disable" : "Enable",
    slot,
    { label: `${disable ? "Disabling" : "Enabling"} ${id}`, action: disable ? "DisableKey" : "EnableKey", params: { KeyId: id } },
    () => render(ctx),
  );
  return h("td", { class: "actions" }, state === "Enabled" || state === "Disabled" ? button : "", slot);
}

function row(ctx: Ctx, id: string): HTMLTableRowElement {
  const tr = h("tr", { "data-key": id }, h("td", {}, id), h("td", { colspan: "6" }, "…"));
  ctx.client.call("DescribeKey", { KeyId: id }).then(
    (b: Body) => {
      const k = b.KeyMetadata as Record<string, string>;
      tr.replaceChildren(
        h("td", {}, id),
        h("td", {}, k.DKMSInstanceId || "shared pool"),
        h("td", { class: "state" }, k.KeyState),
        h("td", {}, when(k.CreationDate)),
        h("td", {}, k.PrimaryKeyVersion),
        h("td", {}, k.Description || "—"),
        toggle(ctx, id, k.KeyState),
      );
    },
    (e: unknown) => tr.replaceChildren(h("td", {}, id), h("td", { colspan: "6" }, errorBox(e))),
  );
  return tr;
}

function createForm(ctx: Ctx, insts: Instance[], slot: HTMLElement): HTMLElement {
  const where = h(
    "select",
    { name: "DKMSInstanceId" },
    h("option", { value: "" }, "shared pool"),
    insts.map((i) => h("option", { value: i.InstanceId }, i.InstanceId)),
  );
  const desc = h("input", { name: "Description", placeholder: "description" });
  return callForm(
    ctx.client,
    "inline",
    slot,
    () => ({ label: "Creating a key", action: "CreateKey", params: { DKMSInstanceId: where.value, Description: desc.value } }),
    () => render(ctx),
    h("strong", {}, "New key "),
    h("label", {}, "in ", where),
    desc,
    h("button", { type: "submit" }, "Create"),
  );
}

export async function render(ctx: Ctx): Promise<void> {
  const { main } = ctx;
  let ids: { KeyId: string }[];
  let insts: Instance[];
  let canCreate: boolean;
  try {
    [ids, insts, canCreate] = await busy("Loading keys", () =>
      Promise.all([ctx.client.pages<{ KeyId: string }>("ListKeys", {}, (b) => list(b, "Keys", "Key")), loadInstances(ctx.client), ctx.supports("CreateKey")]),
    );
  } catch (e) {
    main.replaceChildren(h("h1", {}, "Keys"), errorBox(e));
    return;
  }
  const slot = h("div", { class: "slot" });
  main.replaceChildren(
    h("h1", {}, "Keys"),
    table(["Key", "Instance", "State", "Created", "Primary version", "Description", ""], ids.map((k) => row(ctx, k.KeyId)), "keys"),
    canCreate ? createForm(ctx, insts, slot) : "",
    slot,
  );
}

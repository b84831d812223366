// Small DOM helpers. Text always goes in through textContent, never as HTML, so nothing the API
// returns can become markup.

import { ApiError, Client } from "./api.js";

type Child = Node | string | number | null | undefined | false;
type Attr = string | boolean | ((e: Event) => void);

// h builds an element; attributes named on:<event> become listeners.
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, Attr> = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === "function") el.addEventListener(k.slice(3), v);
    else if (v === true) el.setAttribute(k, "");
    else if (v !== false) el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

let inFlight = 0;

// busy shows the progress bar with label while work runs; every API action goes through it.
export async function busy<T>(label: string, work: () => Promise<T>): Promise<T> {
  const bar = document.getElementById("progress");
  inFlight++;
  if (bar) {
    bar.hidden = false;
    bar.querySelector(".label")!.textContent = label;
  }
  try {
    return await work();
  } finally {
    inFlight--;
    if (bar && inFlight === 0) bar.hidden = true;
  }
}

// notice confirms a change that succeeded, above the view, so it survives the re-render that
// follows; the next call clears it.
export function notice(text: string): void {
  const el = document.getElementById("notice");
  if (!el) return;
  el.textContent = text;
  el.hidden = text === "";
}

// errorBox shows an API error with its code and message, as the API gave them.
export function errorBox(e: unknown): HTMLElement {
  if (e instanceof ApiError) {
    return h(
      "div",
      { class: "error", role: "alert" },
      h("strong", { class: "code" }, e.code),
      e.status ? ` (HTTP ${e.status})` : "",
      ": ",
      h("span", { class: "message" }, e.message),
      e.requestId ? h("small", {}, ` request ${e.requestId}`) : "",
    );
  }
  return h("div", { class: "error", role: "alert" }, h("strong", { class: "code" }, "ConsoleError"), ": ", String(e));
}

// attempt runs an action with progress and puts any error into slot instead of throwing.
export async function attempt(slot: HTMLElement, label: string, work: () => Promise<void>): Promise<boolean> {
  slot.replaceChildren();
  try {
    await busy(label, work);
    return true;
  } catch (e) {
    slot.replaceChildren(errorBox(e));
    return false;
  }
}

export function table(headers: string[], rows: HTMLTableRowElement[], cls = ""): HTMLTableElement {
  return h("table", { class: cls }, h("thead", {}, h("tr", {}, headers.map((t) => h("th", {}, t)))), h("tbody", {}, rows));
}

const dayMs = 86_400_000;

// daysBetween counts whole days from a to b, rounded up, so "expires today" is never 0 too early.
export function daysBetween(a: Date, b: Date): number {
  return Math.ceil((b.getTime() - a.getTime()) / dayMs);
}

export function addDays(d: Date, n: number): Date {
  return new Date(d.getTime() + n * dayMs);
}

// day formats a time as a calendar day in UTC, which is how the API states every date.
export function day(d: Date | string): string {
  const t = typeof d === "string" ? new Date(d) : d;
  return isNaN(t.getTime()) ? "" : t.toISOString().slice(0, 10);
}

export function when(s: unknown): string {
  const v = String(s ?? "");
  return v === "" ? "—" : v.replace("T", " ").replace("Z", " UTC");
}

export function list<T>(body: Record<string, unknown>, outer: string, inner: string): T[] {
  const o = body[outer] as Record<string, unknown> | undefined;
  return ((o?.[inner] as T[] | undefined) ?? []).slice();
}

// CallRequest is the one API call a form makes, read from its inputs when it is submitted.
export interface CallRequest {
  label: string;
  action: string;
  params: Record<string, string>;
}

// act makes one API call with progress and shows its error in slot; on success it runs done,
// usually a re-render, then confirms the change above the view.
export async function act(client: Client, slot: HTMLElement, r: CallRequest, done: () => unknown): Promise<void> {
  notice("");
  if (await attempt(slot, r.label, async () => void (await client.call(r.action, r.params)))) {
    await done();
    notice(`Done: ${r.label}.`);
  }
}

// callForm is a form whose submit is one act.
export function callForm(
  client: Client,
  cls: string,
  slot: HTMLElement,
  request: () => CallRequest,
  done: () => unknown,
  ...children: (Child | Child[])[]
): HTMLFormElement {
  const submit = async (e: Event) => {
    e.preventDefault();
    await act(client, slot, request(), done);
  };
  return h("form", { class: cls, "on:submit": submit }, ...children);
}

// actButton is a button whose click is one act, after a confirm when ask is given.
export function actButton(client: Client, cls: string, text: string, slot: HTMLElement, r: CallRequest, done: () => unknown, ask = ""): HTMLButtonElement {
  const click = async () => {
    if (ask && !confirm(ask)) return;
    await act(client, slot, r, done);
  };
  return h("button", { type: "button", class: cls, "on:click": click }, text);
}

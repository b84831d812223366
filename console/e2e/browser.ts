// The console in a real browser: Debian's Chromium driven by playwright-core against an emulator
// that the Go test TestConsoleInBrowser starts and seeds. Run by that test; the environment:
//   COFFER_CONSOLE_URL         the console, e.g. http://127.0.0.1:PORT/console/
//   COFFER_ACCESS_KEY_ID/_SECRET  an admin access key
//   COFFER_EXPIRED_INSTANCE, COFFER_EXPIRED_SECRET, COFFER_ACTIVE_INSTANCE,
//   COFFER_EXPIRING_INSTANCE   an active instance with twelve hours left
//   COFFER_ROTATING_SECRET     seeded by the Go test (the last one's rotation failed)
//   COFFER_APP_KEY_ID/_SECRET  a key that may read secret/payments/* only
//   COFFER_EDITOR_KEY_ID/_SECRET  a key that may put to app/editable only (and describe it and
//                              app/readable, and read app/readable), by secret policies
//   COFFER_OPERATOR_KEY_ID/_SECRET  an admin policy scoped to COFFER_ACTIVE_INSTANCE
//   COFFER_TEST_CHROMIUM       the browser binary (/usr/bin/chromium)
//   COFFER_SCREENSHOTS         where the screenshots go
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, Page } from "playwright-core";

import { Client } from "../src/api.js";

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: TestConsoleInBrowser runs this script`);
  return v;
}

const consoleURL = env("COFFER_CONSOLE_URL");
const keyId = env("COFFER_ACCESS_KEY_ID");
const keySecret = env("COFFER_ACCESS_KEY_SECRET");
const expiredInstance = env("COFFER_EXPIRED_INSTANCE");
const expiredSecret = env("COFFER_EXPIRED_SECRET");
const activeInstance = env("COFFER_ACTIVE_INSTANCE");
const rotatingSecret = env("COFFER_ROTATING_SECRET");
const expiringInstance = env("COFFER_EXPIRING_INSTANCE");
const appKeyId = env("COFFER_APP_KEY_ID");
const appKeySecret = env("COFFER_APP_KEY_SECRET");
const editorKeyId = env("COFFER_EDITOR_KEY_ID");
const editorKeySecret = env("COFFER_EDITOR_KEY_SECRET");
const operatorKeyId = env("COFFER_OPERATOR_KEY_ID");
const operatorKeySecret = env("COFFER_OPERATOR_KEY_SECRET");
const shots = env("COFFER_SCREENSHOTS");
mkdirSync(shots, { recursive: true });

const poolSecret = "app/created-by-api";
const firstValue = `first-${crypto.randomUUID()}`;
const secondValue = `second-${crypto.randomUUID()}`;

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

// idle waits until no call is in flight, so a screenshot shows a finished view.
async function idle(page: Page): Promise<void> {
  await page.locator("#progress").waitFor({ state: "hidden" });
}

async function stageOf(page: Page, version: string): Promise<string> {
  return (await page.locator(`tr[data-version="${version}"] td.stages`).innerText()).trim();
}

const browser = await chromium.launch({
  executablePath: env("COFFER_TEST_CHROMIUM"),
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  timeout: 60_000,
});
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
page.setDefaultTimeout(20_000);
const problems: string[] = [];
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
page.on("console", (m) => {
  // A 4xx answer is logged by Chromium as a failed load; that is expected here. Anything else,
  // and any CSP refusal above all, is a fault.
  if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(`console: ${m.text()}`);
});

// Every action the page sends, to show that no probe acts: rights come from CheckPermissions.
const sent: string[] = [];
page.on("request", (r) => {
  const a = r.headers()["x-acs-action"];
  if (a) sent.push(a);
});

// signInAs signs out and in again with another key.
async function signInAs(page: Page, id: string, secret: string): Promise<void> {
  await page.click("#signout");
  await page.locator("form.signin").waitFor();
  await page.fill("input[name=accessKeyId]", id);
  await page.fill("input[name=accessKeySecret]", secret);
  await page.click("form.signin button[type=submit]");
  await page.locator("nav .may", { hasText: /may call \d+ of \d+ console actions/ }).waitFor();
}

// admin calls the endpoint as the admin, to check what the page did.
const admin = new Client(new URL(consoleURL).origin, { accessKeyId: keyId, accessKeySecret: keySecret });

let step = "";
async function check(name: string, body: () => Promise<void>): Promise<void> {
  step = name;
  await body();
  console.log(`ok - ${name}`);
}

try {
  await check("a wrong secret is refused with the API's code", async () => {
    await page.goto(consoleURL);
    await page.fill("input[name=accessKeyId]", keyId);
    await page.fill("input[name=accessKeySecret]", "not-the-secret-0000");
    await page.click("form.signin button[type=submit]");
    await page.locator(".error .code", { hasText: "SignatureDoesNotMatch" }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  });

  await check("sign in keeps the key in sessionStorage only", async () => {
    await page.fill("input[name=accessKeySecret]", keySecret);
    await shot(page, "signin");
    await page.click("form.signin button[type=submit]");
    await page.locator("h1", { hasText: "KMS instances" }).waitFor();
    const stored = await page.evaluate(() => ({ session: sessionStorage.getItem("coffer.session"), local: localStorage.length, cookie: document.cookie }));
    assert.ok(stored.session?.includes(keyId), "the session holds the key");
    assert.equal(stored.local, 0);
    assert.equal(stored.cookie, "");
  });

  await check("an expired instance shows the banner with what happens when", async () => {
    await idle(page);
    const banner = page.locator(".banner.expired", { hasText: expiredInstance });
    const text = await banner.innerText();
    assert.match(text, /expired on/);
    assert.match(text, /Rejected\.Unavailable/);
    assert.match(text, /released/);
    assert.match(await page.locator(`tr[data-instance="${expiredInstance}"] td.left`).innerText(), /of 15 grace days left/);
    assert.match(await page.locator(`tr[data-instance="${activeInstance}"] td.left`).innerText(), /days until expiry/);
    await shot(page, "instances");
  });

  await check("an instance expiring within a day is a warning, not green", async () => {
    const row = page.locator(`tr[data-instance="${expiringInstance}"]`);
    assert.match(await row.locator("td.left").innerText(), /expires within a day/);
    assert.equal((await row.locator(".status").innerText()).trim(), "Expires soon");
    assert.equal(await row.locator(".status.warning").count(), 1);
    assert.equal(await row.locator(".status.connected").count(), 0);
  });

  await check("a secret created through the API is listed under the shared pool", async () => {
    await admin.call("CreateSecret", { SecretName: poolSecret, VersionId: "v1", SecretData: firstValue, Tags: JSON.stringify([{ TagKey: "team", TagValue: "web" }]) });
    await page.click("nav a[href='#/secrets']");
    await page.locator(`[data-group="shared"] tr[data-secret="${poolSecret}"]`).waitFor();
    await page.locator(`[data-group="${expiredInstance}"] tr[data-secret="${expiredSecret}"]`).waitFor();
    assert.match(await page.locator(`tr[data-secret="${poolSecret}"]`).innerText(), /team=web/);
    await idle(page);
    await shot(page, "secrets");
  });

  await check("group headings carry the instance name", async () => {
    assert.match(await page.locator(`[data-group="${activeInstance}"] h2`).innerText(), new RegExp(`payments\\s+${activeInstance}`));
    assert.match(await page.locator(`[data-group="${expiredInstance}"] h2`).innerText(), /billing/);
  });

  await check("search by name hides the secrets that do not match", async () => {
    await page.fill("input[name=search]", "api-token");
    await page.locator(`tr[data-secret="${poolSecret}"]`).waitFor({ state: "hidden" });
    assert.ok(await page.locator('tr[data-secret="payments/api-token"]').isVisible());
    await page.fill("input[name=search]", "");
    await page.locator(`tr[data-secret="${poolSecret}"]`).waitFor({ state: "visible" });
  });

  await check("the instance filter shows one group", async () => {
    // The whole list is on the page before the filter, so each check waits for the other groups to go.
    await page.selectOption("select[name=instance]", activeInstance);
    await page.locator('[data-group="shared"]').waitFor({ state: "detached" });
    await page.locator(`[data-group="${activeInstance}"] tr[data-secret]`).waitFor();
    assert.equal(await page.locator(`[data-group="${expiredInstance}"]`).count(), 0);
    await page.selectOption("select[name=instance]", "shared");
    await page.locator(`[data-group="${activeInstance}"]`).waitFor({ state: "detached" });
    await page.locator(`[data-group="shared"] tr[data-secret="${poolSecret}"]`).waitFor();
    assert.equal(await page.locator(`[data-group="${expiredInstance}"]`).count(), 0);
  });

  await check("the value is in the page only after a click", async () => {
    await page.click(`a[href="#/secret/${encodeURIComponent(poolSecret)}"]`);
    await page.locator("h1", { hasText: poolSecret }).waitFor();
    await idle(page);
    assert.ok(!(await page.content()).includes(firstValue), "the value is in the page before the click");
    await page.click("button.reveal >> nth=0");
    await page.locator("pre.value", { hasText: firstValue }).waitFor();
    await shot(page, "secret");
  });

  await check("putting a new value moves the stages", async () => {
    await page.fill("form.put input[name=VersionId]", "v2");
    await page.fill("form.put textarea[name=SecretData]", secondValue);
    await page.click("form.put button[type=submit]");
    await page.locator('tr[data-version="v2"]').waitFor();
    await idle(page);
    assert.equal(await stageOf(page, "v2"), "ACSCurrent");
    assert.equal(await stageOf(page, "v1"), "ACSPrevious");
    assert.ok(!(await page.content()).includes(secondValue), "the new value stays hidden after the put");
    assert.equal((await page.locator("#notice").innerText()).trim(), "Done: Putting v2.");
    await shot(page, "versions");
  });

  await check("moving a stage back", async () => {
    await page.fill("form.move input[name=VersionStage]", "ACSCurrent");
    await page.selectOption("form.move select[name=MoveToVersion]", "v1");
    await page.click("form.move button[type=submit]");
    await page.waitForFunction(() => document.querySelector('tr[data-version="v1"] td.stages')?.textContent?.includes("ACSCurrent"));
    await idle(page);
    assert.equal(await stageOf(page, "v1"), "ACSCurrent");
    assert.equal(await stageOf(page, "v2"), "ACSPrevious");
    await page.click("button.reveal >> nth=0");
    await page.locator("pre.value", { hasText: firstValue }).waitFor();
  });

  await check("a tag is added and another removed on the secret page", async () => {
    await page.fill("form.tag input[name=TagKey]", "owner");
    await page.fill("form.tag input[name=TagValue]", "web-team");
    await page.click("form.tag button[type=submit]");
    await page.locator('.tag[data-tag="owner"]', { hasText: "owner=web-team" }).waitFor();
    assert.equal((await page.locator("#notice").innerText()).trim(), `Done: Tagging ${poolSecret} with owner.`);
    await page.click('.tag[data-tag="team"] button.untag');
    await page.locator('.tag[data-tag="team"]').waitFor({ state: "detached" });
    assert.equal((await page.locator("#notice").innerText()).trim(), `Done: Removing the tag team from ${poolSecret}.`);
    const d = await admin.call("DescribeSecret", { SecretName: poolSecret, FetchTags: "true" });
    assert.deepEqual((d.Tags as { Tag: unknown[] }).Tag, [{ TagKey: "owner", TagValue: "web-team" }]);
    await idle(page);
    await shot(page, "tags");
  });

  await check("a binary value shows its size and a Download link, not base64", async () => {
    const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));
    const encoded = bytes.toString("base64");
    await admin.call("CreateSecret", { SecretName: "web/cert.p12", VersionId: "v1", SecretData: encoded, SecretDataType: "binary" });
    await page.goto(`${consoleURL}#/secret/${encodeURIComponent("web/cert.p12")}`);
    await page.locator("h1", { hasText: "web/cert.p12" }).waitFor();
    await page.click("button.reveal >> nth=0");
    await page.locator(".value.binary", { hasText: "Binary value, 3,000 bytes" }).waitFor();
    assert.ok(!(await page.content()).includes(encoded.slice(0, 40)), "the base64 text is in the page");
    assert.equal(await page.locator("pre.value").count(), 0);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("a.download")]);
    assert.equal(download.suggestedFilename(), "cert.p12.bin");
    assert.deepEqual(readFileSync(await download.path()), bytes);
  });

  await check("delete with recovery, restore, then delete now", async () => {
    await page.click("button.delete");
    await page.locator(".banner.expired", { hasText: "Planned to be deleted" }).waitFor();
    assert.match(await page.locator("#notice").innerText(), /^Done: Scheduling .* for deletion\.$/);
    await page.click("button.restore");
    await page.locator("button.delete").waitFor();
    assert.equal(await page.locator(".banner.expired").count(), 0);
    assert.match(await page.locator("#notice").innerText(), /^Done: Restoring /);
    page.once("dialog", (d) => void d.accept());
    await page.click("button.force-delete");
    await page.locator(".error .code", { hasText: "Forbidden.ResourceNotFound" }).first().waitFor();
    assert.equal(await page.locator("button.reveal").count(), 0);
  });

  await check("a failed rotation says step, attempt and last error", async () => {
    await page.goto(`${consoleURL}#/secret/${encodeURIComponent(rotatingSecret)}`);
    await page.locator("h1", { hasText: rotatingSecret }).waitFor();
    const words = await page.locator("p.rotation").innerText();
    assert.match(words, /FAILED at step apply|rotating to r1/);
    assert.match(words, /step apply \(changing the target's credential to the new value\)/);
    assert.match(words, /last error: \S+/);
    await page.locator("form.policy").waitFor();
    await page.locator("button.rotate").waitFor();
    // Styled as a state, in colour: red for a failed rotation, amber while one runs.
    const cls = await page.locator("p.rotation").getAttribute("class");
    assert.match(cls ?? "", /\bstate (failed|running)\b/);
    const colour = await page.locator("p.rotation").evaluate((el) => getComputedStyle(el).color);
    assert.notEqual(colour, await page.locator("h1").evaluate((el) => getComputedStyle(el).color), "the rotation state is not coloured");
    await idle(page);
    await shot(page, "rotation");
  });

  await check("a failed rotation is cancelled after a confirm, and the page says so", async () => {
    let asked = "";
    page.once("dialog", (d) => {
      asked = d.message();
      void d.dismiss();
    });
    await page.click("button.cancel-rotation");
    assert.match(asked, /Cancel the rotation of .* to r1\?/);
    assert.match(await page.locator("p.rotation").innerText(), /r1/, "a dismissed confirm changed the rotation");
    page.once("dialog", (d) => void d.accept());
    await page.click("button.cancel-rotation");
    await page.locator("#notice", { hasText: `Done: Cancelling the rotation of ${rotatingSecret}.` }).waitFor();
    await idle(page);
    assert.doesNotMatch(await page.locator("p.rotation").innerText(), /FAILED|rotating to/);
    assert.equal(await page.locator("button.cancel-rotation").count(), 0);
    const d = await admin.call("DescribeSecret", { SecretName: rotatingSecret });
    assert.equal(d.RotationState, undefined, "the rotation is still recorded");
  });

  await check("a secret of the expired instance fails with the code shown", async () => {
    await page.goto(`${consoleURL}#/secret/${encodeURIComponent(expiredSecret)}`);
    await page.locator(".error .code", { hasText: "Rejected.Unavailable" }).first().waitFor();
    await page.click("button.reveal");
    await page.locator(".value-slot .error .code", { hasText: "Rejected.Unavailable" }).waitFor();
    await idle(page);
    await shot(page, "expired-secret");
  });

  await check("a secret that does not exist shows its code and no Reveal button", async () => {
    await page.goto(`${consoleURL}#/secret/no/such-secret`);
    await page.locator(".error .code", { hasText: "Forbidden.ResourceNotFound" }).first().waitFor();
    await idle(page);
    assert.equal(await page.locator("button.reveal").count(), 0);
  });

  await check("keys are listed with their instances", async () => {
    await page.click("nav a[href='#/keys']");
    await page.locator("table.keys tbody tr").first().waitFor();
    await page.locator(`table.keys td`, { hasText: activeInstance }).first().waitFor();
    await idle(page);
    await shot(page, "keys");
  });

  await check("a key is disabled and enabled again, with a confirmation each time", async () => {
    const row = page.locator("table.keys tr", { has: page.locator("td", { hasText: activeInstance }) }).first();
    await row.locator("button.disable").click();
    await row.locator("td.state", { hasText: "Disabled" }).waitFor();
    assert.match(await page.locator("#notice").innerText(), /^Done: Disabling key-/);
    await row.locator("button.enable").click();
    await row.locator("td.state", { hasText: "Enabled" }).waitFor();
    assert.match(await page.locator("#notice").innerText(), /^Done: Enabling key-/);
  });

  await check("access control shows network rules where the endpoint serves them", async () => {
    if (!(await admin.allowed(["ListApplicationAccessPoints"])).get("ListApplicationAccessPoints")) {
      assert.equal(await page.locator("nav a[href='#/access']").isVisible(), false, "Access is offered by an endpoint without it");
      console.log("# the endpoint serves no access control: only the hidden link is checked");
      return;
    }
    await admin.call("CreateNetworkRule", { Name: "office", Type: "Private", SourcePrivateIp: JSON.stringify(["10.0.0.0/8"]), Description: "office network" });
    await page.click("nav a[href='#/access']");
    const rule = page.locator('[data-section="ListNetworkRules"] tr[data-name="office"]');
    await rule.waitFor();
    assert.match(await rule.innerText(), /10\.0\.0\.0\/8/);
    await idle(page);
    await shot(page, "access");
  });

  await check("an access key is created with its secret shown once, then disabled, enabled and deleted, each asked first", async () => {
    await page.click("nav a[href='#/access']");
    await page.locator(`[data-section="ListAccessKeys"] tr[data-access-key="${keyId}"]`).waitFor();
    await page.selectOption("form.create-key select[name=AapName]", "payments-app");
    await page.fill("form.create-key input[name=Description]", "ci runner");
    await page.click("form.create-key button[type=submit]");
    const once = page.locator(".banner.once");
    await once.waitFor();
    assert.match(await once.innerText(), /Shown once/);
    const id = (await once.locator("code.key-id").innerText()).trim();
    const secret = (await once.locator("code.key-secret").innerText()).trim();
    assert.ok(secret.length >= 16, "no secret shown");
    assert.equal(await page.evaluate((s) => JSON.stringify({ ...sessionStorage, ...localStorage }).includes(s), secret), false, "the new secret is stored");
    const row = page.locator(`tr[data-access-key="${id}"]`);
    assert.match(await row.innerText(), /access point payments-app[\s\S]*ci runner/);
    const probe = new Client(new URL(consoleURL).origin, { accessKeyId: id, accessKeySecret: secret });
    assert.equal((await probe.allowed(["GetSecretValue"])).get("GetSecretValue"), true, "the shown secret does not sign");
    await idle(page);
    await shot(page, "access-keys");
    await once.locator("button", { hasText: "Hide" }).click();
    assert.equal(await page.locator(".banner.once").count(), 0);

    // Disable asks first: dismissed, nothing is sent; accepted, the key is refused.
    const before = sent.length;
    page.once("dialog", (d) => void d.dismiss());
    await row.locator("button.disable").click();
    assert.equal(sent.slice(before).includes("DisableAccessKey"), false, "a dismissed confirm disabled the key");
    page.once("dialog", (d) => void d.accept());
    await row.locator("button.disable").click();
    await row.locator("td.state", { hasText: "Disabled" }).waitFor();
    assert.match(await page.locator("#notice").innerText(), new RegExp(`^Done: Disabling ${id}\\.$`));
    await assert.rejects(probe.allowed(["GetSecretValue"]), (e: Error & { code?: string }) => e.code === "Forbidden.AccessKey");
    await row.locator("button.enable").click();
    await row.locator("td.state", { hasText: "Active" }).waitFor();
    assert.equal((await probe.allowed(["GetSecretValue"])).get("GetSecretValue"), true);
    page.once("dialog", (d) => void d.accept());
    await row.locator("button.delete").click();
    await row.waitFor({ state: "detached" });
    assert.match(await page.locator("#notice").innerText(), new RegExp(`^Done: Deleting ${id}\\.$`));
    await assert.rejects(probe.allowed(["GetSecretValue"]), (e: Error & { code?: string }) => e.code === "InvalidAccessKeyId.NotFound");

    // The signed-in key cannot lock itself out: the refusal is shown and it stays active.
    const own = page.locator(`tr[data-access-key="${keyId}"]`);
    page.once("dialog", (d) => void d.accept());
    await own.locator("button.disable").click();
    await page.locator('[data-section="ListAccessKeys"] .error .code', { hasText: "InvalidParameter" }).waitFor();
    assert.equal((await own.locator("td.state").innerText()).trim(), "Active");
  });

  await check("at 390 px the navigation and Sign out fit and tables scroll inside themselves", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const view of ["#/instances", "#/secrets"]) {
      await page.goto(`${consoleURL}${view}`);
      await page.locator("table").first().waitFor();
      await idle(page);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 390, `${view} is ${width} px wide at 390`);
      for (const sel of ["#signout", "nav a[href='#/keys']"]) {
        const box = await page.locator(sel).boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${sel} is outside the screen: ${JSON.stringify(box)}`);
      }
    }
    await shot(page, "phone");
  });

  await check("no call probed rights by acting (CreateBackup, RotateSecret, UpdateSecretRotationPolicy)", async () => {
    assert.ok(sent.includes("CheckPermissions"), "rights were not asked with CheckPermissions");
    for (const a of ["CreateBackup", "RotateSecret", "UpdateSecretRotationPolicy"]) assert.ok(!sent.includes(a), `${a} was sent without a click`);
  });

  await check("an application key with read rights only signs in and sees what it may do", async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await signInAs(page, appKeyId, appKeySecret);
    await page.locator("nav .may", { hasText: /may call 1 of \d+ console actions/ }).waitFor();
    const title = (await page.locator("nav .may").getAttribute("title")) ?? "";
    assert.match(title, /✓ GetSecretValue/);
    assert.match(title, /✗ ListSecrets/);
    await idle(page);
    await shot(page, "app-key");
  });

  await check("a key that may put to one secret only is offered Put there and nothing it would be refused", async () => {
    await signInAs(page, editorKeyId, editorKeySecret);
    await page.goto(`${consoleURL}#/secret/${encodeURIComponent("app/editable")}`);
    await page.locator("form.put").waitFor();
    await idle(page);
    for (const sel of ["form.move", "form.tag", "button.untag", "button.delete", "button.force-delete", "button.rotate", "form.policy"]) {
      assert.equal(await page.locator(sel).count(), 0, `${sel} is offered to a key that may only put`);
    }
    // It may not list the versions: the page says so with the code, and shows the rest.
    await page.locator(".error .code", { hasText: "Forbidden.NoPermission" }).first().waitFor();
    const value = `edited-${crypto.randomUUID()}`;
    await page.fill("form.put input[name=VersionId]", "v2");
    await page.fill("form.put textarea[name=SecretData]", value);
    await page.click("form.put button[type=submit]");
    await page.locator("#notice", { hasText: "Done: Putting v2." }).waitFor();
    assert.equal((await admin.call("GetSecretValue", { SecretName: "app/editable" })).SecretData, value);
    await shot(page, "put-only");

    // On a secret it may only read, there is nothing to change.
    await page.goto(`${consoleURL}#/secret/${encodeURIComponent("app/readable")}`);
    await page.locator("h1", { hasText: "app/readable" }).waitFor();
    await idle(page);
    for (const sel of ["form.put", "form.tag", "button.delete"]) assert.equal(await page.locator(sel).count(), 0, `${sel} is offered on a read-only secret`);
    await page.click("button.reveal >> nth=0");
    await page.locator("pre.value", { hasText: "seeded" }).waitFor();
  });

  await check("an admin of one instance may back it up but is offered no Renew and no new instance", async () => {
    await signInAs(page, operatorKeyId, operatorKeySecret);
    await page.goto(`${consoleURL}#/instances`);
    const row = page.locator(`tr[data-instance="${activeInstance}"]`);
    await row.locator("button.backup").waitFor();
    await idle(page);
    assert.equal(await page.locator("button", { hasText: "Renew" }).count(), 0, "Renew is offered where RenewKmsInstance is refused");
    assert.equal(await page.locator("main form").count(), 0, "a form is offered");
    assert.equal(await page.locator("button.backup").count(), 1, "Back up is offered on an instance outside the key's scope");
    await row.locator("button.backup").click();
    await row.locator(".ok", { hasText: "Backup made" }).waitFor();
  });

  await check("sign out forgets the key and draws the sign-in form once", async () => {
    assert.notEqual(await page.evaluate(() => location.hash), "", "sign out must start from a view for the hashchange case");
    // Sign-out's hashchange used to draw a second, empty form over the first, wiping what was
    // being typed: count the forms drawn.
    await page.evaluate(() => {
      const w = window as unknown as { signinForms: number };
      w.signinForms = 0;
      new MutationObserver((records) => {
        for (const r of records) for (const n of r.addedNodes) if (n instanceof HTMLFormElement && n.matches("form.signin")) w.signinForms++;
      }).observe(document.getElementById("main")!, { childList: true });
    });
    await page.click("#signout");
    await page.locator("form.signin").waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await page.waitForFunction(() => location.hash === "");
    await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
    assert.equal(await page.evaluate(() => (window as unknown as { signinForms: number }).signinForms), 1, "the sign-in form was drawn more than once");
    assert.equal(await page.locator("nav .may").innerText(), "", "the last key's rights are still shown");
  });

  assert.deepEqual(problems, [], "the page logged errors");
} catch (e) {
  await shot(page, "failure").catch(() => {});
  console.error(`not ok - ${step}`);
  throw e;
} finally {
  await browser.close();
}

import assert from "node:assert/strict";
import { test } from "node:test";

import { acsDate, authorization, canonicalQuery, percentEncode } from "../src/sign.js";

test("signs the reference's ACS3-HMAC-SHA256 test vector (kms-openapi.md §6.2)", async () => {
  const auth = await authorization(
    {
      method: "POST",
      path: "/",
      query: { VersionStage: "ACSCurrent", SecretName: "secret001" },
      headers: {
        host: "kms.example.com",
        "x-acs-action": "GetSecretValue",
        "x-acs-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "x-acs-date": "2024-01-01T00:00:00Z",
        "x-acs-signature-nonce": "3a1f0c9e8b7d6a5f4e3d2c1b0a998877",
        "x-acs-version": "2016-01-20",
      },
      body: "",
    },
    { accessKeyId: "testid", accessKeySecret: "testsecret" },
  );
  assert.equal(
    auth,
    "ACS3-HMAC-SHA256 Credential=testid," +
      "SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version," +
      "Signature=b6cce038d2796ba89f5a9ceb65c8b58dd54dc9b357d6ec78116b364031958fba",
  );
});

test("a changed secret or parameter changes the signature", async () => {
  const req = { method: "POST", path: "/", query: { SecretName: "a" }, headers: { host: "h", "x-acs-action": "GetSecretValue" }, body: "" };
  const base = await authorization(req, { accessKeyId: "id", accessKeySecret: "s1" });
  assert.notEqual(await authorization(req, { accessKeyId: "id", accessKeySecret: "s2" }), base);
  assert.notEqual(await authorization({ ...req, query: { SecretName: "b" } }, { accessKeyId: "id", accessKeySecret: "s1" }), base);
});

test("percent-encodes as RFC 3986 with only A-Za-z0-9-_.~ left alone", () => {
  assert.equal(percentEncode("a b*c~d-_.!'()/+=é"), "a%20b%2Ac~d-_.%21%27%28%29%2F%2B%3D%C3%A9");
});

test("sorts the canonical query by key in byte order", () => {
  assert.equal(canonicalQuery({ b: "1", A: "2", a: "x y", "Tag.1.Key": "" }), "A=2&Tag.1.Key=&a=x%20y&b=1");
});

test("dates are UTC to the second with a Z", () => {
  assert.equal(acsDate(new Date(Date.UTC(2026, 10, 26, 20, 26, 57, 123))), "2026-11-26T20:26:57Z");
});

import assert from "node:assert/strict";
import { test } from "node:test";

import { timeLeft, Instance } from "../src/views/instances.js";
import { interval, rotationStateWords, rotationSummary } from "../src/views/secret.js";

const now = new Date("2026-11-26T12:00:00Z");
const inst = (Status: string, EndDate: string): Instance => ({ InstanceId: "kst-1", InstanceName: "n", Status, StartDate: "", EndDate, SecretNum: "0", KeyNum: 0 });

test("an active instance counts the days until expiry", () => {
  assert.equal(timeLeft(inst("Connected", "2026-12-06T12:00:00Z"), now), "10 days until expiry");
});

test("an expired instance counts the grace days left and names the release day", () => {
  assert.equal(timeLeft(inst("Expired", "2026-11-20T12:00:00Z"), now), "9 of 15 grace days left (released on 2026-12-05)");
});

test("rotation intervals read in days or hours", () => {
  assert.equal(interval("604800s"), "7 days");
  assert.equal(interval("21600s"), "6 hours");
});

test("a rotation state says step, attempt and last error in words", () => {
  const words = rotationStateWords({
    Step: "test", VersionId: "r2", Attempt: 3, Started: "2026-11-26T11:00:00Z", LastError: "password authentication failed",
    Failed: false, NextAttempt: "2026-11-26T12:05:00Z",
  });
  assert.match(words, /rotating to r2 since 2026-11-26 11:00:00 UTC: step test \(logging in to the target with the new value\), attempt 3/);
  assert.match(words, /last error: password authentication failed/);
  assert.match(words, /next attempt 2026-11-26 12:05:00 UTC/);
  assert.match(rotationStateWords({ Step: "apply", VersionId: "r2", Attempt: 5, Started: "", Failed: true }), /FAILED at step apply/);
});

test("a managed secret's summary carries its policy and its state", () => {
  const s = rotationSummary({ SecretType: "Rds", AutomaticRotation: "Enabled", RotationInterval: "604800s", NextRotationDate: "2026-12-03T00:00:00Z", RotationState: { Step: "promote", VersionId: "r9", Attempt: 1, Started: "2026-11-26T11:00:00Z", Failed: false } });
  assert.match(s, /^automatic every 7 days, next 2026-12-03 00:00:00 UTC; rotating to r9/);
  assert.equal(rotationSummary({ SecretType: "Generic" }), "by the producer (put a value)");
});

import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

// Run from console/ by npm test, after tsc has compiled src/ into build/src/.
function files(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)).map((f) => join(n, f)) : [n]));
}

test("dist/ holds exactly what npm run build makes from these sources", () => {
  const want = new Map<string, Buffer>();
  for (const f of files("static")) want.set(f, readFileSync(join("static", f)));
  for (const f of files("build/src")) want.set(join("js", f), readFileSync(join("build/src", f)));
  const got = files("dist").filter((f) => f !== "SOURCES.sha256");
  assert.deepEqual(got.sort(), [...want.keys()].sort(), "dist/ has other files: run npm run build");
  for (const [f, b] of want) assert.ok(readFileSync(join("dist", f)).equals(b), `dist/${f} is stale: run npm run build`);
});

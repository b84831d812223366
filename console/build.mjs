// Builds the console: compiles the TypeScript (src/ for the browser, test/ for node) into build/,
// then lays out dist/, the static files Coffer embeds and a static host serves, and writes
// dist/SOURCES.sha256 so a Go test can tell when dist/ is older than its sources.
//
//   npm run build                 (npm ci first on a fresh checkout)
//   node build.mjs --no-dist      compile only, as npm test does
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(fileURLToPath(import.meta.url));
process.chdir(root);

// The inputs of dist/: keep this list in step with sourceFiles in embed_test.go.
const inputs = ["build.mjs", "package-lock.json", "tsconfig.json", "src", "static"];

function files(path) {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).sort().flatMap((name) => files(`${path}/${name}`));
}

rmSync("build", { recursive: true, force: true });
execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"], { stdio: "inherit" });
if (process.argv.includes("--no-dist")) process.exit(0);

rmSync("dist", { recursive: true, force: true });
mkdirSync("dist/js", { recursive: true });
cpSync("static", "dist", { recursive: true });
cpSync("build/src", "dist/js", { recursive: true });

const sums = inputs
  .flatMap(files)
  .sort()
  .map((f) => `${createHash("sha256").update(readFileSync(f)).digest("hex")}  ${f}\n`)
  .join("");
writeFileSync(join("dist", "SOURCES.sha256"), sums);
console.log(`built dist/ from ${sums.split("\n").length - 1} source files`);

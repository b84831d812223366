// The Coffer emulator for the client tests in scripts/*/test.mjs: built and started on a free
// loopback port with its own data folder and an admin key, stopped when the tests are done.
import { after } from 'node:test';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

// started are the emulators this process runs, each with its folder. node:test runs no after()
// hook, and no exit handler either, when the file fails before its tests are declared (one
// emulator that does not start, say): startEmulators stops the others then, and the exit and
// signal handlers stop whatever still runs when the process ends any other way.
const started = new Set();
function stop(emulator) {
  emulator.server.kill('SIGTERM');
  rmSync(emulator.work, { recursive: true, force: true });
  started.delete(emulator);
}
process.on('exit', () => { for (const e of started) stop(e); });
for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
  process.once(signal, () => process.exit(128 + number));
}

// backends are the stores the client tests run on: the embedded default, and the throwaway Redis
// scripts/test starts (COFFER_TEST_REDIS_URL; CI refuses to run without it), on a database of
// their own.
export function backends() {
  const url = process.env.COFFER_TEST_REDIS_URL;
  if (!url && process.env.CI) throw new Error('COFFER_TEST_REDIS_URL is not set: run these through scripts/test');
  const out = [{ name: 'embedded', env: {} }];
  // Function instances share no disk, so Redis needs a root key given: a fresh one per run.
  if (url) out.push({ name: 'redis', env: { COFFER_REDIS_URL: url.replace(/\/\d*$/, '/7'), COFFER_ROOT_KEY: randomBytes(32).toString('base64') } });
  return out;
}

// startEmulator resolves to the emulator's host:port once it listens, with env added to its
// environment (a store, say); its log is shown only if the run fails.
export async function startEmulator({ keyId, keySecret, prefix, env = {} }) {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const bin = join(work, 'coffer-local');
  try {
    execFileSync('go', ['build', '-o', bin, './functions/cmd/local'], { cwd: repo, stdio: 'inherit' });
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
  const server = spawn(bin, [], {
    env: {
      ...process.env, PORT: '0', COFFER_DATA_DIR: join(work, 'data'),
      COFFER_ADMIN_ACCESS_KEY_ID: keyId, COFFER_ADMIN_ACCESS_KEY_SECRET: keySecret, ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  server.stderr.on('data', (b) => { log += b; });
  process.on('exit', (code) => { if (code !== 0) process.stderr.write(log); });
  const emulator = { server, work };
  started.add(emulator);
  after(() => stop(emulator));
  return new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (b) => {
      out += b;
      const m = out.match(/listening on http:\/\/([\d.]+:\d+)/);
      if (m) resolve(m[1]);
    });
    server.on('exit', (code) => {
      stop(emulator);
      reject(new Error(`the emulator exited (${code}) before listening:\n${log}`));
    });
  });
}

// startEmulators starts one emulator per options object and resolves to their hosts once all
// listen; if any fails, it stops the ones that started before it rejects.
export async function startEmulators(options) {
  const results = await Promise.allSettled(options.map((o) => startEmulator(o)));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    for (const e of started) stop(e);
    throw failed.reason;
  }
  return results.map((r) => r.value);
}

// The Coffer emulator for the client tests in scripts/*/test.mjs: built and started on a free
// loopback port with its own data folder and an admin key, stopped when the tests are done.
import { after } from 'node:test';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

// startEmulator resolves to the emulator's host:port once it listens; its log is shown only if
// the run fails.
export async function startEmulator({ keyId, keySecret, prefix }) {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const bin = join(work, 'coffer-local');
  execFileSync('go', ['build', '-o', bin, './functions/cmd/local'], { cwd: repo, stdio: 'inherit' });
  const server = spawn(bin, [], {
    env: {
      ...process.env, PORT: '0', COFFER_DATA_DIR: join(work, 'data'),
      COFFER_ADMIN_ACCESS_KEY_ID: keyId, COFFER_ADMIN_ACCESS_KEY_SECRET: keySecret,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  server.stderr.on('data', (b) => { log += b; });
  process.on('exit', (code) => { if (code !== 0) process.stderr.write(log); });
  after(() => {
    server.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  });
  return new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (b) => {
      out += b;
      const m = out.match(/listening on http:\/\/([\d.]+:\d+)/);
      if (m) resolve(m[1]);
    });
    server.on('exit', (code) => reject(new Error(`the emulator exited (${code}) before listening`)));
  });
}

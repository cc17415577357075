// End-to-end harness: starts a real `tollgate serve` on a free port with a fresh
// data directory, and a real Debian Chromium through playwright-core.
//
// Environment:
//   TG_BIN        the server binary (default $CARGO_TARGET_DIR/debug/tollgate)
//   TOLLGATE_SITE_ROOT  the built site (default $CARGO_TARGET_DIR/site-debug)
//   CARGO_TARGET_DIR    default ~/.cache/tollgate/target, as in scripts/lib.sh
//   CHROMIUM            the browser (default /usr/bin/chromium)
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { it } from 'node:test';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const here = dirname(fileURLToPath(import.meta.url));
const targetDir = process.env.CARGO_TARGET_DIR || join(homedir(), '.cache', 'tollgate', 'target');

export const serverBin = process.env.TG_BIN || join(targetDir, 'debug', 'tollgate');
export const siteRoot = process.env.TOLLGATE_SITE_ROOT || join(targetDir, 'site-debug');
export const screenshotDir = join(here, 'screenshots');
export const resultsDir = join(here, 'results');

// The bootstrap admin's line, e.g. "... one-time password: Xy7... (change it at first sign-in)".
const PASSWORD_LINE = /one-time password: (\S+)/;
const READY_TIMEOUT_MS = 90_000;

/** A TCP port nobody listens on right now (the OS picks it). */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The environment the server gets: ours, minus every inherited `TOLLGATE_*`
 * (a developer's shell must not point the test at their database, and no
 * `TOLLGATE_ADMIN_*` may exist, so that the server makes a bootstrap admin).
 */
function serverEnv(dataDir, extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('TOLLGATE_')) env[k] = v;
  }
  env.TOLLGATE_DATA_DIR = dataDir;
  env.TOLLGATE_SITE_ROOT = siteRoot;
  // The bootstrap password is logged at info; a quieter RUST_LOG would hide it.
  env.RUST_LOG = process.env.TOLLGATE_E2E_RUST_LOG || 'info';
  env.NO_COLOR = '1';
  return { ...env, ...extra };
}

/**
 * Starts `tollgate serve` and waits until `/health/readiness` answers 200.
 * `env` adds variables (e.g. `KUBECONFIG`, `TOLLGATE_MASTER_KEY`) after the cleaned ones;
 * `config` is the text of a `tollgate.toml` (routes, for instance) in the server's directory.
 * Returns { url, port, adminPassword, log(), cli(...args), stop() }; `cli` runs another
 * `tollgate` command on the same data directory (e.g. `keys create`) and returns its stdout.
 */
export async function startServer(name = 'server', { env = {}, config = null } = {}) {
  const port = await freePort();
  const workDir = mkdtempSync(join(tmpdir(), 'tollgate-e2e-'));
  const dataDir = join(workDir, 'data');
  mkdirSync(dataDir);
  if (config !== null) writeFileSync(join(workDir, 'tollgate.toml'), config);
  mkdirSync(resultsDir, { recursive: true });
  const logFile = join(resultsDir, `${name}.log`);
  const logStream = createWriteStream(logFile);

  // cwd is the temp dir too, so even a default ./data would not touch the clone.
  const child = spawn(serverBin, ['serve', '--listen', `127.0.0.1:${port}`], {
    cwd: workDir,
    env: serverEnv(dataDir, env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let exited = null;
  const capture = (chunk) => {
    output += chunk.toString();
    logStream.write(chunk);
  };
  child.stdout.on('data', capture);
  child.stderr.on('data', capture);
  child.on('error', (err) => {
    exited = `could not be started (${err.message}); build it with scripts/build-site.sh debug or set TG_BIN`;
  });
  child.on('exit', (code, signal) => {
    exited ??= `exited with ${signal ?? `code ${code}`} before it was ready`;
  });
  // A crashed test run must not leave a server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', killOnExit);
    if (!exited && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const late = await Promise.race([gone.then(() => false), sleep(5_000, true, { ref: false })]);
      if (late) child.kill('SIGKILL');
    }
    logStream.end();
    rmSync(workDir, { recursive: true, force: true });
  };
  const fail = async (why) => {
    await stop();
    throw new Error(`${why}\n--- server log (${logFile}) ---\n${output.slice(-4000)}`);
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exited) await fail(`tollgate ${exited}`);
    if (Date.now() > deadline) await fail(`tollgate not ready after ${READY_TIMEOUT_MS / 1000} s`);
    try {
      const res = await fetch(`${url}/health/readiness`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }

  // The password line is normally printed before the listener is ready; allow a moment.
  let match = PASSWORD_LINE.exec(output);
  for (let i = 0; !match && i < 25; i++) {
    await sleep(200);
    match = PASSWORD_LINE.exec(output);
  }
  return {
    url,
    port,
    adminPassword: match ? match[1] : null,
    log: () => output,
    logFile,
    cli: (...args) =>
      execFileSync(serverBin, [...args, '--data-dir', dataDir], {
        cwd: workDir,
        env: serverEnv(dataDir, env),
        encoding: 'utf8',
      }),
    stop,
  };
}

/**
 * Polls `check` (async, returns a value or undefined) until it returns one, then returns it;
 * after `timeout` ms fails with `what` and what `explain` reports of the last state.
 */
export async function until(what, check, { timeout = 20_000, explain = () => '' } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what} ${await explain()}`);
    await sleep(100);
  }
}

/** Signs in as the master key (email `master`) and waits for the dashboard. */
export async function signInWithMasterKey(page, url, masterKey) {
  await page.goto(`${url}/signin`);
  await hydrated(page);
  await page.locator('input[name=email]').fill('master');
  await page.locator('input[name=password]').fill(masterKey);
  await page.locator('button[type=submit]').click();
  await page.waitForURL((u) => u.pathname === '/');
}

/** Chromium switches for a root user in a container with no GPU and no network. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-quic',
  '--no-first-run',
  '--disable-sync',
];

/**
 * Launches Debian's Chromium with a fresh profile (Playwright takes the
 * profile directory as an argument instead of `--user-data-dir`).
 * Returns { context, page, errors, close() }; `errors` collects uncaught page errors.
 */
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'tollgate-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
  });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(30_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const at = msg.location()?.url;
    console.error(`[browser console] ${msg.text()}${at ? ` (${at})` : ''}`);
  });
  return {
    context,
    page,
    errors,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot as end2end/screenshots/<name>.png. */
export async function screenshot(page, name) {
  mkdirSync(screenshotDir, { recursive: true });
  // `animations: 'disabled'` ends CSS transitions, so a theme switch is not caught halfway.
  await page.screenshot({
    path: join(screenshotDir, `${name}.png`),
    fullPage: true,
    animations: 'disabled',
  });
}

/** Waits until the app has hydrated (it sets `data-hydrated="true"` on <html>). */
export async function hydrated(page) {
  await page.waitForFunction(() => document.documentElement.dataset.hydrated === 'true', null, {
    timeout: 20_000,
  });
}

/** The current path of a page, without query or hash. */
export function pathOf(page) {
  return new URL(page.url()).pathname;
}

/**
 * Saves the page as it looks in light and in dark (`<name>-light.png`, `<name>-dark.png`): the
 * theme is the `dark` class on <html>, as the toggle sets it; the page's own choice is restored.
 */
export async function screenshotThemes(page, name) {
  const wasDark = await page.evaluate(() => document.documentElement.classList.contains('dark'));
  for (const dark of [false, true]) {
    await page.evaluate((d) => document.documentElement.classList.toggle('dark', d), dark);
    await screenshot(page, `${name}-${dark ? 'dark' : 'light'}`);
  }
  await page.evaluate((d) => document.documentElement.classList.toggle('dark', d), wasDark);
}

/**
 * An OpenAI chat-completions upstream in this process: model `stub-error` answers 500, a
 * request that is not a chat completion 400, anything else a reply with `usage`.
 * Returns { port, close() }.
 */
export async function startStub(usage) {
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      let model = '';
      try {
        model = JSON.parse(body).model ?? '';
      } catch {
        // answered below as a bad request
      }
      res.setHeader('content-type', 'application/json');
      if (req.url !== '/v1/chat/completions' || !model) {
        res.writeHead(400).end(JSON.stringify({ error: { message: 'bad request', type: 'invalid_request_error' } }));
      } else if (model === 'stub-error') {
        res.writeHead(500).end(JSON.stringify({ error: { message: 'the stub fails on purpose', type: 'server_error' } }));
      } else {
        res.writeHead(200).end(
          JSON.stringify({
            id: 'chatcmpl-e2e',
            object: 'chat.completion',
            created: Math.floor(Date.now() / 1000),
            model,
            choices: [{ index: 0, message: { role: 'assistant', content: 'Hello.' }, finish_reason: 'stop' }],
            usage,
          }),
        );
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: server.address().port, close: () => new Promise((r) => server.close(r)) };
}

/** A `tollgate.toml` route from `model` to the stub's `upstream` model (key from STUB_KEY). */
export function stubRoute(port, model, upstream = model) {
  return `
[[routes]]
model_name = "${model}"
[[routes.deployments]]
provider = "openai"
upstream_model = "${upstream}"
api_base = "http://127.0.0.1:${port}/v1"
api_key = "env:STUB_KEY"
`;
}

/**
 * The steps of one story, which share a browser and a server and run in order: once a step
 * fails the rest are skipped (they would fail for the same reason), and each page `pages()`
 * names is saved as end2end/screenshots/failed-<label>-<step>.png.
 */
export function story(pages) {
  let failedStep = null;
  return (name, fn) =>
    it(name, async (t) => {
      if (failedStep) {
        t.skip(`an earlier step failed: ${failedStep}`);
        return;
      }
      try {
        await fn();
      } catch (err) {
        failedStep = name;
        const slug = name.replace(/[^a-z0-9]+/gi, '-').toLowerCase().slice(0, 60);
        for (const [label, page] of pages()) {
          await screenshot(page, `failed-${label}${slug}`).catch(() => {});
        }
        throw err;
      }
    });
}

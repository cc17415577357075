// The instances pages in a real Chromium. The portal runs against tollgate-cluster's fake
// Kubernetes API server (crates/cluster/examples/fake-apiserver.rs) serving the selector-overlap
// incident: three instances whose Services all select `app=litellm`. The portal finds it the
// way it finds a real cluster, through KUBECONFIG. Without a cluster, the pages say so and list
// instances from heartbeats.
//
// Environment: TG_FAKE_KUBE, the fake's binary (default
// $CARGO_TARGET_DIR/debug/examples/fake-apiserver; build it with
// `cargo build -p tollgate-cluster --example fake-apiserver`).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  hydrated,
  launchBrowser,
  pathOf,
  screenshot,
  signInWithMasterKey,
  startServer,
  until,
} from '../harness.mjs';

const targetDir = process.env.CARGO_TARGET_DIR || join(homedir(), '.cache', 'tollgate', 'target');
const fakeBin = process.env.TG_FAKE_KUBE || join(targetDir, 'debug', 'examples', 'fake-apiserver');
const MASTER_KEY = 'sk-master-e2e-instances-0123456789';
const INSTANCES = ['batch', 'claude', 'openai-eu'];

/** Starts the fake API server with the incident; resolves once it prints its URL. */
async function startFakeKube(dir) {
  const kubeconfig = join(dir, 'kubeconfig');
  const child = spawn(fakeBin, ['--scenario', 'incident', '--kubeconfig', kubeconfig], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  const deadline = Date.now() + 20_000;
  while (!/at http:\/\/127\.0\.0\.1:\d+/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the fake API server (${fakeBin}) did not start: ${output}`);
    }
    await sleep(50);
  }
  return {
    kubeconfig,
    stop: () => {
      process.off('exit', killOnExit);
      child.kill('SIGTERM');
    },
  };
}

describe('instances, against the fake Kubernetes API with the incident', () => {
  let dir;
  let fake;
  let server;
  let browser;
  let page;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-e2e-kube-'));
    fake = await startFakeKube(dir);
    server = await startServer('instances', {
      env: { KUBECONFIG: fake.kubeconfig, TOLLGATE_MASTER_KEY: MASTER_KEY },
    });
    browser = await launchBrowser();
    page = browser.page;
    await signInWithMasterKey(page, server.url, MASTER_KEY);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    fake?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows a card per instance, each with the critical selector overlap', async () => {
    await page.goto(`${server.url}/instances`);
    await hydrated(page);
    await page.locator('[data-testid=kubernetes-on]').filter({ hasText: 'tollgate' }).waitFor();
    // `serve` also runs a gateway, whose heartbeat names instance `default`: with no Deployment
    // for it in the cluster, it is listed after the discovered ones as Missing.
    await page.locator('[data-testid=instance-card][data-instance=default]').waitFor({ timeout: 20_000 });
    // The page polls; until every watch has listed, cards may be missing or not yet critical.
    const cards = page.locator('[data-testid=instance-card]');
    const cardNames = () => cards.evaluateAll((els) => els.map((e) => e.dataset.instance));
    const expected = [...INSTANCES, 'default'];
    await until(
      `the cards ${expected.join(', ')}`,
      async () => (JSON.stringify(await cardNames()) === JSON.stringify(expected) ? true : undefined),
      { explain: async () => `(cards: ${(await cardNames()).join(', ')})` },
    );
    await page
      .locator('[data-instance=default] [data-testid=health]')
      .filter({ hasText: /^\s*Missing\s*$/ })
      .waitFor({ timeout: 20_000 });
    for (const name of INSTANCES) {
      // The card leads with the finding about the instance's own Service.
      await page
        .locator(`[data-instance="${name}"] [data-testid=worst-diagnosis][data-severity=critical]`)
        .filter({ hasText: new RegExp(`Service ${name} sends traffic to pods of 3 instances`) })
        .waitFor({ timeout: 20_000 });
    }
    // Still so once settled (the waits above passed on the page as it is now).
    assert.deepEqual(await cardNames(), expected);
    await screenshot(page, 'instances-overlap');
    assert.deepEqual(browser.errors, []);
  });

  it('refreshes by itself, without a reload', async () => {
    let calls = 0;
    const count = (req) => {
      if (new URL(req.url()).pathname === '/rpc/get_instances') calls += 1;
    };
    page.on('request', count);
    // Polls every 3 s; a generous deadline, so a slow runner waits rather than fails.
    try {
      await until('2 polls of /rpc/get_instances', () => (calls >= 2 ? true : undefined), {
        timeout: 30_000,
        explain: () => `(saw ${calls})`,
      });
    } finally {
      page.off('request', count);
    }
    assert.equal(pathOf(page), '/instances');
  });

  it('the instance page shows the pods, whose pods each Service reaches, and the fix', async () => {
    await page.locator('[data-instance=claude]').click();
    await page.waitForURL((u) => u.pathname === '/instances/claude');
    const overlap = page.locator('[data-testid=diagnosis][data-code=service-selector-overlap]');
    await overlap.first().waitFor();
    assert.equal(await overlap.count(), 3, 'one finding per Service reaching claude');
    assert.equal(await overlap.first().getAttribute('data-severity'), 'critical');
    assert.match(await overlap.first().innerText(), /includeSelectors: true/);
    const rows = page.locator('[data-testid=pods-table] tbody tr');
    assert.equal(await rows.count(), 3);
    // claude's own Service reaches nine pods, six of them other instances'.
    const services = page.locator('[data-testid=services]');
    assert.match(await services.innerText(), /openai-eu-5d8f7c9b4-a1b2c \(openai-eu\)/);
    await screenshot(page, 'instance-claude');
  });

  it('the dashboard lists each instance with its critical finding, linked to its page', async () => {
    await page.goto(`${server.url}/`);
    const problems = page.locator('[data-testid=instance-problems]');
    await problems.waitFor();
    for (const name of INSTANCES) {
      const row = problems.locator(`tr[data-instance="${name}"]`);
      assert.match(await row.innerText(), /critical/, name);
      assert.equal(await row.locator('a').getAttribute('href'), `/instances/${name}`);
    }
  });
});

describe('instances, with no cluster', () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer('instances-off', {
      env: { KUBECONFIG: '/nonexistent/kubeconfig', TOLLGATE_MASTER_KEY: MASTER_KEY },
    });
    browser = await launchBrowser();
    await signInWithMasterKey(browser.page, server.url, MASTER_KEY);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('says the Kubernetes view is off and lists instances from heartbeats', async () => {
    const { page } = browser;
    await page.goto(`${server.url}/instances`);
    await page.locator('[data-testid=kubernetes-off]').waitFor();
    // `serve` runs a gateway, whose heartbeat (every 5 s) names instance `default`.
    await page.locator('[data-testid=instance-card][data-instance=default]').waitFor({ timeout: 20_000 });
    assert.match(await page.locator('[data-testid=kubernetes-off]').innerText(), /heartbeats only/);
    await screenshot(page, 'instances-no-cluster');
  });
});

// Spend analytics in a real Chromium: requests sent through the gateway of a real
// `tollgate serve` (to a stub OpenAI upstream in this process) appear on the dashboard, the
// spend page (totals, four SVG charts with a hover readout, the table and its CSV) and the
// request log with its detail page. Nothing is seeded into the database: every number on the
// pages comes from the spend pipeline.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  hydrated,
  launchBrowser,
  screenshot,
  signInWithMasterKey,
  startServer,
  startStub,
  stubRoute,
  until,
} from '../harness.mjs';

const MASTER_KEY = 'sk-master-e2e-analytics-0123456789';
// Large token counts so the cost is whole cents: gpt-4o at its built-in price.
const USAGE = { prompt_tokens: 100_000, completion_tokens: 20_000, total_tokens: 120_000 };
const GOOD = 4;

describe('spend analytics, from real traffic', () => {
  let stub;
  let server;
  let browser;
  let page;
  let key;
  let sentAt;

  const chat = (model, content = 'hi') =>
    fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content }] }),
    });

  before(async () => {
    stub = await startStub(USAGE);
    server = await startServer('analytics', {
      env: { TOLLGATE_MASTER_KEY: MASTER_KEY, STUB_KEY: 'stub-secret' },
      config: stubRoute(stub.port, 'gpt-4o') + stubRoute(stub.port, 'broken-model', 'stub-error'),
    });
    const out = server.cli('keys', 'create', '--alias', 'e2e-analytics', '--max-budget', '2');
    key = /^key:\s+(sk-tg-\S+)/m.exec(out)?.[1];
    assert.ok(key, `unexpected \`keys create\` output:\n${out}`);
    browser = await launchBrowser();
    page = browser.page;
    await signInWithMasterKey(page, server.url, MASTER_KEY);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await stub?.close();
  });

  it('the dashboard shows the requests just sent, with their spend', async () => {
    // The key was made by another process: the gateway sees it after its revision poll.
    await until('the new key to be accepted', async () => ((await chat('gpt-4o')).status === 200 ? true : undefined), {
      timeout: 15_000,
    });
    for (let i = 1; i < GOOD; i++) assert.equal((await chat('gpt-4o')).status, 200);
    const failed = await chat('broken-model');
    assert.ok(failed.status >= 500, `broken-model answered ${failed.status}`);
    sentAt = Date.now();

    const requests = page.locator('[data-testid=period-today] [data-metric=Requests]');
    await until(
      `${GOOD + 1} requests today on the dashboard`,
      async () => {
        await page.goto(`${server.url}/`);
        // Before the first flush the dashboard shows its empty state instead of the numbers.
        await page.locator('[data-testid=period-today], [data-testid=empty-state]').first().waitFor();
        if ((await requests.count()) === 0) return undefined;
        return (await requests.innerText()).trim() === String(GOOD + 1) ? true : undefined;
      },
      { timeout: 15_000, explain: async () => `(shows ${await requests.innerText().catch(() => '?')})` },
    );
    // How long the pipeline took, for the record (the target is 2 s; the benchmark measures it).
    console.log(`dashboard showed the traffic ${Date.now() - sentAt} ms after the last request`);

    // 4 x (100k in at $2.50/M + 20k out at $10/M) = 4 x $0.45; the failed request costs nothing.
    const spend = page.locator('[data-testid=period-today] [data-metric=Spend]');
    assert.equal((await spend.innerText()).trim(), '$1.80');
    const errorRate = page.locator('[data-testid=period-today] [data-metric="Error rate"]');
    assert.match(await errorRate.innerText(), /^20(\.0)?\s*%$/);
    assert.match(await page.locator('[data-testid=top-key]').innerText(), /e2e-analytics/);
    assert.match(await page.locator('[data-testid=top-model]').innerText(), /gpt-4o/);
    await page.locator('[data-testid=sparkline]').waitFor();
    // The key's lifetime budget of $2 is 90% spent.
    const budget = page.locator('[data-testid=budgets-near-limit] tr[data-owner=key]');
    assert.match(await budget.innerText(), /e2e-analytics/);
    assert.equal((await budget.locator('[data-testid=budget-used]').innerText()).trim(), '90%');
    assert.match(await budget.innerText(), /never \(lifetime budget\)/);
    await screenshot(page, 'analytics-dashboard');
  });

  it('the spend page charts it and its CSV holds exactly the table', async () => {
    await page.goto(`${server.url}/spend?range=today&group_by=model`);
    await hydrated(page);
    const totals = page.locator('[data-testid=spend-totals]');
    await totals.waitFor();
    assert.match(await totals.innerText(), /\$1\.80/);
    const charts = page.locator('[data-testid=chart]');
    assert.equal(await charts.count(), 4);
    const svg = charts.first().locator('svg');
    assert.ok(await svg.isVisible(), 'the spend chart is visible');
    assert.ok((await charts.first().locator('svg rect title').count()) > 0, 'columns carry a tooltip');

    // Hovering the column with the traffic shows its values in the readout.
    const readout = charts.first().locator('[data-testid=chart-readout]');
    // One hour, or two when the requests straddled an hour's end; the bar is in its column.
    const bars = charts.first().locator('svg rect[data-bar]');
    assert.ok((await bars.count()) >= 1, 'a column has bars');
    await bars.last().hover();
    await until('the readout to show the hour\'s spend', async () => (/gpt-4o: \$\d/.test(await readout.innerText()) ? true : undefined), {
      explain: async () => `(readout: ${await readout.innerText()})`,
    });

    const table = page.locator('[data-testid=spend-table]');
    const tableText = await table.innerText();
    assert.match(tableText, /gpt-4o/);
    assert.match(tableText, /broken-model/);
    const href = await page.locator('[data-testid=csv-download]').getAttribute('href');
    assert.ok(href?.startsWith('data:text/csv'), href);
    const csv = decodeURIComponent(href.slice(href.indexOf(',') + 1));
    const lines = csv.trim().split(/\r?\n/);
    assert.equal(lines.length, 3, `a header and one line per model:\n${csv}`);
    assert.ok(lines.some((l) => l.startsWith('gpt-4o,') && l.includes('1.8')), csv);
    await screenshot(page, 'analytics-spend');
  });

  it('a bad question on the spend page is answered with what to fix', async () => {
    await page.goto(`${server.url}/spend?granularity=fortnight`);
    const error = page.locator('[data-testid=spend-error]');
    await error.waitFor();
    assert.match(await error.innerText(), /granularity/i);
  });

  it('the request log lists each request, filters errors and opens one', async () => {
    await page.goto(`${server.url}/logs`);
    await hydrated(page);
    const rows = page.locator('[data-testid=log-row]');
    await rows.first().waitFor();
    assert.equal(await rows.count(), GOOD + 1);
    // Newest first: the failed request was sent last.
    assert.match(await rows.first().innerText(), /broken-model/);

    await page.goto(`${server.url}/logs?status=error`);
    await rows.first().waitFor();
    assert.equal(await rows.count(), 1);
    await rows.first().locator('a').first().click();
    await page.waitForURL((u) => u.pathname.startsWith('/logs/'));
    const detail = page.locator('[data-testid=log-detail]');
    await detail.waitFor();
    assert.match(await detail.innerText(), /broken-model/);
    // The one deployment of broken-model was tried and failed.
    assert.equal(await page.locator('[data-testid=tried] li').count(), 1);
    assert.match(await page.locator('[data-testid=not-stored]').innerText(), /not stored/);
    await screenshot(page, 'analytics-request');
    assert.deepEqual(browser.errors, []);
  });

  it('a key that stores prompts shows its prompt and completion, as text', async () => {
    // A key of its own: the first one's $2 budget is spent by now.
    const made = server.cli('keys', 'create', '--alias', 'e2e-prompts');
    key = /^key:\s+(sk-tg-\S+)/m.exec(made)?.[1];
    const keyId = /^id:\s+(\S+)/m.exec(made)?.[1];
    assert.ok(key && keyId, `unexpected \`keys create\` output:\n${made}`);
    const out = server.cli('keys', 'store-prompts', keyId, 'on');
    assert.match(out, /stores prompts: on/);
    const hostile = '<img src=x onerror="window.__pwned=1"> stored-prompt-marker';
    // Another process changed the key: the gateway stores once its revision poll has seen it.
    await until('a request with its prompt stored', async () => {
      const r = await chat('gpt-4o', hostile);
      // 401 until the gateway's revision poll has seen the new key.
      if (r.status === 401) return undefined;
      assert.equal(r.status, 200);
      const id = r.headers.get('x-request-id');
      // Written by the spend writer within about a second: until then the page says not found.
      for (let i = 0; i < 20; i++) {
        await page.goto(`${server.url}/logs/${id}`);
        await page.locator('[data-testid=log-detail], [role=alert]').first().waitFor();
        if ((await page.locator('[data-testid=log-detail]').count()) > 0) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      if ((await page.locator('[data-testid=stored-prompt]').count()) === 0) return undefined;
      return true;
    }, { timeout: 15_000 });
    await hydrated(page);
    const prompt = page.locator('[data-testid=stored-prompt]');
    assert.match(await prompt.innerText(), /stored-prompt-marker/);
    assert.ok((await prompt.innerText()).includes('<img src=x'), 'shown as text, not markup');
    assert.equal(await page.locator('[data-testid=stored-prompt] img').count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.match(await page.locator('[data-testid=stored-completion]').innerText(), /chat\.completion/);
    await screenshot(page, 'analytics-request-stored');
    assert.deepEqual(browser.errors, []);
  });
});

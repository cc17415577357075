// Teams and self-service in a real Chromium, the story issue 5 tells: an admin makes a team
// with a member policy and a user, and adds the user to the team; the member signs in (with
// the one-time password, then their own), makes a key within the policy, is refused outside it
// with the limit named, and copies the secret; the key answers through `tollgate serve`'s
// gateway (to a stub upstream in this process); the admin blocks it and the next request is
// refused; the audit page shows every step, filters, and exports it as CSV. Each page is
// saved in light and dark.
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import {
  hydrated,
  launchBrowser,
  screenshotThemes,
  signInWithMasterKey,
  startServer,
  startStub,
  story,
  stubRoute,
  until,
} from '../harness.mjs';

const MASTER_KEY = 'sk-master-e2e-teams-0123456789abcdef';
const MEMBER_EMAIL = 'member@example.com';
const MEMBER_PASSWORD = 'member-e2e-Correct-Horse-42';
const TEAM = 'Search <b>team</b>';

describe('teams, members and their keys', () => {
  let stub;
  let server;
  let admin;
  let member;
  let secret;
  const step = story(() => [
    ['admin-', admin.page],
    ['member-', member.page],
  ]);

  before(async () => {
    stub = await startStub({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 });
    server = await startServer('teams', {
      env: { TOLLGATE_MASTER_KEY: MASTER_KEY, STUB_KEY: 'stub-secret' },
      config: stubRoute(stub.port, 'gpt-4o'),
    });
    admin = await launchBrowser();
    member = await launchBrowser();
    await member.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  });

  after(async () => {
    await admin?.close();
    await member?.close();
    await server?.stop();
    await stub?.close();
  });

  const chat = (key) =>
    fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    }).then((r) => r.status);

  step('the admin creates a team and sets its member policy', async () => {
    const page = admin.page;
    await signInWithMasterKey(page, server.url, MASTER_KEY);
    await page.goto(`${server.url}/teams`);
    await hydrated(page);
    await page.getByText('No teams yet.').waitFor();
    // A bad budget is refused with the field's message and adds nothing.
    await page.locator('#name').fill(TEAM);
    await page.locator('#max_budget').fill('lots');
    await page.getByRole('button', { name: 'Create team' }).click();
    await page.getByRole('alert').filter({ hasText: /dollars/ }).first().waitFor();
    assert.equal(await page.locator('[data-testid=teams-table] tbody tr[data-team]').count(), 0);
    await page.locator('#max_budget').fill('50');
    await page.locator('#budget_duration').fill('30d');
    await page.getByRole('button', { name: 'Create team' }).click();
    const row = page.locator('[data-testid=teams-table] tbody tr[data-team]').first();
    await row.waitFor();
    // Markup in a name is shown as text.
    assert.equal((await row.locator('td').first().innerText()).trim(), TEAM);
    assert.match(await row.innerText(), /\$50\.00 \/ 30d/);
    await screenshotThemes(page, '20-teams');

    await row.getByRole('link').click();
    await page.waitForURL((u) => u.pathname.startsWith('/teams/'));
    await hydrated(page);
    assert.equal((await page.locator('[data-testid=team-name]').innerText()).trim(), TEAM);
    await page.locator('#policy-models').fill('gpt-4o');
    await page.locator('#policy-max_budget').fill('5');
    await page.locator('#policy-max_rpm').fill('60');
    await page.locator('#policy-max_keys').fill('2');
    await page.locator('#policy-max_expiry_days').fill('30');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('Policy saved.').waitFor();
  });

  let oneTimePassword;
  step('the admin creates a user, who gets a one-time password, and adds them to the team', async () => {
    const page = admin.page;
    await page.goto(`${server.url}/users`);
    await hydrated(page);
    await page.locator('#email').fill(MEMBER_EMAIL);
    await page.locator('#name').fill('Mem Ber');
    await page.getByRole('button', { name: 'Create user' }).click();
    oneTimePassword = (await page.locator('[data-testid=password]').innerText()).trim();
    assert.match(oneTimePassword, /^[0-9A-Za-z]{20}$/);
    await page.locator(`tr[data-user="${MEMBER_EMAIL}"]`).waitFor();
    await screenshotThemes(page, '21-users');
    // The same email again is refused, with the reason.
    await page.locator('#email').fill(MEMBER_EMAIL.toUpperCase());
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('alert').filter({ hasText: /already exists/ }).first().waitFor();

    await page.goto(`${server.url}/teams`);
    await hydrated(page);
    await page.locator('[data-testid=teams-table] tbody tr[data-team] a').first().click();
    await page.waitForURL((u) => u.pathname.startsWith('/teams/'));
    await hydrated(page);
    await page.locator('#member-email').fill('nobody@example.com');
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.getByRole('alert').filter({ hasText: /no user has this email/ }).first().waitFor();
    await page.locator('#member-email').fill(MEMBER_EMAIL);
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.locator(`tr[data-member="${MEMBER_EMAIL}"]`).waitFor();
    await screenshotThemes(page, '22-team');
  });

  step('the member signs in, chooses a password, and sees the team policy', async () => {
    const page = member.page;
    await page.goto(`${server.url}/signin`);
    await hydrated(page);
    await page.locator('input[name=email]').fill(MEMBER_EMAIL);
    await page.locator('input[name=password]').fill(oneTimePassword);
    await page.locator('button[type=submit]').click();
    await page.waitForURL((u) => u.pathname === '/account/password');
    await hydrated(page);
    await page.locator('input[name=current_password]').fill(oneTimePassword);
    await page.locator('input[name=new_password]').fill(MEMBER_PASSWORD);
    await page.locator('input[name=confirm_password]').fill(MEMBER_PASSWORD);
    await page.locator('button[type=submit]').click();
    await page.waitForURL((u) => u.pathname === '/');
    await page.goto(`${server.url}/teams`);
    await hydrated(page);
    const row = page.locator('[data-testid=teams-table] tbody tr[data-team]');
    await row.first().waitFor();
    assert.equal(await row.count(), 1);
    assert.match(await row.first().innerText(), /models gpt-4o/);
    // A member sees the policy but cannot change it, nor create teams.
    await row.first().locator('a').click();
    await page.locator('[data-testid=policy-summary]').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Save policy' }).count(), 0);
  });

  step('the member makes a key within the policy and is refused outside it, naming the limit', async () => {
    const page = member.page;
    await page.goto(`${server.url}/keys`);
    await hydrated(page);
    const rows = page.locator('[data-testid=keys-table] tbody tr[data-key]');
    await page.getByText('No keys match.').waitFor();
    // Outside: a model the policy does not grant.
    await page.locator('#alias').fill('too wide');
    await page.locator('#models').fill('gpt-4o-mini');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('alert').filter({ hasText: /policy/ }).first().waitFor();
    // Outside: a budget over the policy's $5.
    await page.locator('#models').fill('');
    await page.locator('#max_budget').fill('6');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('alert').filter({ hasText: /at most \$5\.00 per key/ }).first().waitFor();
    assert.equal(await rows.count(), 0, 'refusals add nothing');
    // Within: the policy fills in what is left open.
    await page.locator('#alias').fill('my laptop');
    await page.locator('#max_budget').fill('');
    await page.getByRole('button', { name: 'Create key' }).click();
    secret = (await page.locator('[data-testid=secret]').innerText()).trim();
    assert.match(secret, /^sk-tg-[0-9A-Za-z]{40}$/);
    await page.locator('[data-testid=new-secret]').getByRole('button', { name: 'Copy' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    await rows.first().waitFor();
    const text = await rows.first().innerText();
    assert.match(text, /gpt-4o/);
    assert.match(text, /\$5\.00/);
    await screenshotThemes(page, '23-keys-member');
  });

  step('the member edits the key: saved within the policy, refused beyond it, and refused when changed meanwhile', async () => {
    const page = member.page;
    const row = page.locator('[data-testid=keys-table] tbody tr[data-key]').first();
    const id = await row.getAttribute('data-key');
    await row.getByRole('button', { name: 'Edit' }).click();
    const edit = page.locator('tr[data-edit]');
    await edit.waitFor();
    assert.equal(await edit.locator('input[name="form[rpm_limit]"]').inputValue(), '60', 'filled with the key');
    await edit.locator('input[name="form[rpm_limit]"]').fill('600');
    await edit.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('alert').filter({ hasText: /at most 60 per key/ }).first().waitFor();
    await edit.locator('input[name="form[rpm_limit]"]').fill('30');
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.waitFor({ state: 'detached' });
    const api = (method, body) =>
      fetch(`${server.url}/api/v1/keys/${id}`, {
        method,
        headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
        body: body && JSON.stringify(body),
      });
    const saved = await (await api('GET')).json();
    assert.equal(saved.data.rpm_limit, 30);
    // Opened here, then changed elsewhere: this save is refused, and the other one stands.
    await row.getByRole('button', { name: 'Edit' }).click();
    await edit.waitFor();
    const elsewhere = await api('PATCH', { version: saved.data.version, alias: 'renamed elsewhere' });
    assert.equal(elsewhere.status, 200);
    await edit.locator('input[name="form[alias]"]').fill('renamed here');
    await edit.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('alert').filter({ hasText: /changed since you opened it/ }).first().waitFor();
    assert.equal((await (await api('GET')).json()).data.alias, 'renamed elsewhere');
    await screenshotThemes(page, '23b-keys-edit');
    // The filters: by team, and by how soon keys expire (the policy gave this one 30 days).
    await page.reload();
    await hydrated(page);
    await page.locator('#team-filter').selectOption({ label: TEAM });
    await row.waitFor();
    await page.locator('#state').selectOption('expiring');
    await page.getByText('No keys match.').waitFor();
    await page.locator('#state').selectOption('');
    await row.waitFor();
  });

  step('the key answers through the gateway; blocked by the admin, the next request is refused', async () => {
    await until('the new key to answer', async () => ((await chat(secret)) === 200 ? true : undefined));
    // Two more keys (made by API), so the list has an order to turn.
    for (const alias of ['sort check 1', 'sort check 2']) {
      const made = await fetch(`${server.url}/api/v1/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ alias }),
      });
      assert.equal(made.status, 201);
    }
    const page = admin.page;
    await page.goto(`${server.url}/keys`);
    await hydrated(page);
    const order = () => page.locator('[data-testid=keys-table] tbody tr[data-key]').evaluateAll((rows) => rows.map((r) => r.dataset.key));
    await until('three keys listed', async () => ((await order()).length === 3 ? true : undefined));
    // Sorted oldest first: the same keys, in the other order; then back.
    const newest = await order();
    await page.locator('#sort').selectOption('oldest');
    await until('the keys listed oldest first', async () => ((await order()).join() === [...newest].reverse().join() ? true : undefined));
    await page.locator('#sort').selectOption('newest');
    await until('the keys listed newest first again', async () => ((await order()).join() === newest.join() ? true : undefined));
    // By owner: only the member's key (the two made by API have no owner).
    await page.locator('#owner-filter').fill(MEMBER_EMAIL);
    await page.locator('#owner-filter').press('Enter');
    await until('only the member\'s key listed', async () => ((await order()).length === 1 ? true : undefined));
    assert.match(await page.locator('[data-testid=keys-table] tbody tr[data-key]').innerText(), /renamed elsewhere/);
    await page.locator('#owner-filter').fill('');
    await page.locator('#owner-filter').press('Enter');
    await until('every key listed again', async () => ((await order()).length === 3 ? true : undefined));
    const row = page.locator('[data-testid=keys-table] tbody tr[data-key]').filter({ hasText: 'renamed elsewhere' });
    await row.waitFor();
    await row.getByRole('button', { name: 'Block' }).click();
    await row.locator('.badge', { hasText: 'blocked' }).waitFor();
    await until('the blocked key to be refused', async () => ((await chat(secret)) === 401 ? true : undefined));
    await screenshotThemes(page, '24-keys-admin');
  });

  step('the audit page shows every step, filters, and exports CSV', async () => {
    const page = admin.page;
    await page.goto(`${server.url}/audit`);
    await hydrated(page);
    const actions = async () =>
      page.locator('[data-testid=audit-table] tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.action));
    await page.locator('[data-testid=audit-table] tbody tr').first().waitFor();
    const all = await actions();
    for (const a of ['team.create', 'team.policy', 'user.create', 'team.member.add', 'key.create', 'key.block']) {
      assert.ok(all.includes(a), `${a} in ${all.join(', ')}`);
    }
    assert.equal(all[0], 'key.block', 'newest first');
    // The key's change shows what it was and became, without its secret.
    const blocked = page.locator('[data-testid=audit-table] tbody tr[data-action="key.block"]').first();
    await blocked.locator('summary').click();
    assert.match(await blocked.innerText(), /"blocked": true/);
    assert.ok(!(await page.content()).includes(secret), 'no secret on the audit page');
    await screenshotThemes(page, '25-audit');

    await page.locator('#audit-action').fill('key.');
    await page.locator('#audit-action').press('Enter');
    const keyChanges = await until('only key changes listed', async () => {
      const list = await actions();
      const only = list.length > 0 && list.length < all.length && list.every((a) => a.startsWith("key."));
      return only ? list : undefined;
    });
    // The member's key made, edited twice (here and through the API), blocked; the two made
    // for the sort check between.
    assert.deepEqual(keyChanges, ['key.block', 'key.create', 'key.create', 'key.update', 'key.update', 'key.create']);
    const href = await page.locator('[data-testid=audit-export]').getAttribute('href');
    assert.equal(href, '/api/v1/audit.csv?action=key.');
    const csv = await page.evaluate(async (h) => (await fetch(h)).text(), href);
    const lines = csv.trim().split('\r\n');
    assert.equal(lines[0], 'time,actor,action,object_type,object_id,before,after');
    assert.equal(lines.length, 1 + keyChanges.length, csv);
    assert.ok(!csv.includes(secret));
  });

  step('routes: tollgate.toml\'s shown read-only, one added, edited, tested, a LiteLLM config previewed then imported', async () => {
    const page = admin.page;
    await page.goto(`${server.url}/routes`);
    await hydrated(page);
    const config = page.locator('tr[data-route="gpt-4o"]');
    await config.waitFor();
    assert.match(await config.innerText(), /tollgate\.toml \(read-only\)/);
    assert.equal(await config.getByRole('button', { name: 'Delete' }).count(), 0);
    // Refused: a pattern with `*` in the middle, by field; nothing added.
    await page.locator('#model_name').fill('a*b');
    await page.locator('#upstream_model').fill('x');
    await page.getByRole('button', { name: 'Create route' }).click();
    await page.getByRole('alert').filter({ hasText: /may only end a pattern/ }).first().waitFor();
    await page.locator('#model_name').fill('e2e-route');
    await page.locator('#api_base').fill(`http://127.0.0.1:${stub.port}/v1`);
    await page.getByRole('button', { name: 'Create route' }).click();
    const added = page.locator('tr[data-route="e2e-route"]');
    await added.waitFor();
    // Edited as JSON: a broken document is refused with the reason; a good one replaces it.
    await added.getByRole('button', { name: 'Edit' }).click();
    const editor = page.locator('tr[data-edit-route] textarea');
    await editor.waitFor();
    const json = await editor.inputValue();
    assert.match(json, /"retries": 0/);
    await editor.fill(json.replace('"retries": 0', '"retries": 0,,'));
    await page.getByRole('button', { name: 'Save route' }).click();
    await page.getByRole('alert').filter({ hasText: /expected|key must be/ }).first().waitFor();
    await editor.fill(json.replace('"retries": 0', '"retries": 2'));
    await page.getByRole('button', { name: 'Save route' }).click();
    await page.locator('tr[data-edit-route]').waitFor({ state: 'detached' });
    assert.match(await added.innerText(), /2 retries/);
    // Tested: one request through the route to the stub; the answer, its latency and the
    // deployment that gave it are shown.
    await added.getByRole('button', { name: 'Test' }).click();
    const testRow = page.locator('tr[data-test-route]');
    assert.equal(await testRow.locator('input').inputValue(), 'e2e-route', 'an exact route is requested by its name');
    await testRow.getByRole('button', { name: 'Send test request' }).click();
    const report = testRow.locator('[data-testid=test-report]');
    await report.waitFor();
    assert.equal(await report.getAttribute('data-ok'), 'true');
    assert.match(await report.getByRole('status').innerText(), /Answered: 200 in \d+ ms/);
    assert.equal(await report.locator('[data-testid=test-reply]').innerText(), 'Hello.');
    assert.equal(await report.locator('tr[data-attempt=ok]').count(), 1);
    await screenshotThemes(page, '26-routes-test');
    // A model the route does not serve is refused by field, and nothing is sent.
    await testRow.locator('input').fill('other-model');
    await testRow.getByRole('button', { name: 'Send test request' }).click();
    await testRow.getByRole('alert').filter({ hasText: /does not serve/ }).waitFor();
    await added.getByRole('button', { name: 'Test' }).click();
    await testRow.waitFor({ state: 'detached' });

    await page.locator('[data-testid=import] summary').click();
    await page.locator('#import-config').fill(
      'model_list:\n  - model_name: imported-model\n    litellm_params:\n      model: openai/gpt-4o-mini\n      api_key: os.environ/OPENAI_API_KEY\n  - model_name: titan\n    litellm_params:\n      model: bedrock/amazon.titan\n',
    );
    await page.getByRole('button', { name: 'Preview' }).click();
    const preview = page.locator('[data-testid=import-preview]');
    await preview.waitFor();
    assert.match(await preview.innerText(), /1 route\(s\) would be created/);
    assert.match(await preview.innerText(), /bedrock/);
    assert.equal(await page.locator('tr[data-route="imported-model"]').count(), 0, 'a preview writes nothing');
    await screenshotThemes(page, '26-routes');
    await preview.getByRole('button', { name: 'Apply' }).click();
    await page.locator('[data-testid=import-report]').waitFor();
    await page.locator('tr[data-route="imported-model"]').waitFor();
  });

  step('settings: a credential reference and a price override, shown without secrets, and the instance list', async () => {
    const page = admin.page;
    await page.goto(`${server.url}/settings`);
    await hydrated(page);
    // The import added its reference.
    await page.locator('tr[data-credential="env:OPENAI_API_KEY"]').waitFor();
    await page.locator('#name').fill('anthropic-prod');
    await page.locator('#provider').selectOption('anthropic');
    await page.locator('#reference').fill('ANTHROPIC_API_KEY');
    await page.getByRole('button', { name: 'Add credential' }).click();
    await page.getByRole('alert').filter({ hasText: /env:VARIABLE/ }).first().waitFor();
    await page.locator('#reference').fill('env:ANTHROPIC_API_KEY');
    await page.getByRole('button', { name: 'Add credential' }).click();
    await page.locator('tr[data-credential="anthropic-prod"]').waitFor();
    await page.locator('#pattern').fill('e2e-route');
    await page.locator('#input').fill('1.25');
    await page.locator('#output').fill('5');
    await page.getByRole('button', { name: 'Set price' }).click();
    const price = page.locator('tr[data-price="e2e-route"]');
    await price.waitFor();
    assert.match(await price.innerText(), /\$1\.25[\s\S]*\$5\.00/);
    // The instance list: this process's gateway, from its heartbeat, with the revision applied.
    const instance = page.locator('tr[data-settings-instance="default"]');
    await instance.waitFor();
    assert.equal(await instance.getByRole('link').getAttribute('href'), '/instances/default');
    assert.match(await instance.locator('td').nth(3).innerText(), /^\d+$/);
    await screenshotThemes(page, '27-settings');
  });

  step('no uncaught errors in either page', () => {
    assert.deepEqual(admin.errors, []);
    assert.deepEqual(member.errors, []);
  });
});

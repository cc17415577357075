// The portal in a real Chromium, as an admin meets it on a new install:
// sign-in, the forced password change, the dashboard, hydration (theme
// toggle), navigation, an empty list, sign-out and signing in again.
//
// The steps share one browser and one server and run in order; once a step
// fails the rest are skipped (they would fail for the same reason), and the
// page at the failure is saved as end2end/screenshots/failed-<step>.png.
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { hydrated, launchBrowser, pathOf, screenshot, startServer, story } from '../harness.mjs';

const ADMIN_EMAIL = 'admin@localhost';
const NEW_PASSWORD = 'tollgate-e2e-Correct-Horse-42';
const NAV_LINKS = [
  'Dashboard',
  'Keys',
  'Teams',
  'Users',
  'Routes',
  'Spend',
  'Logs',
  'Instances',
  'Audit',
  'Settings',
];

describe('portal', () => {
  let server;
  let browser;
  let page;

  before(async () => {
    server = await startServer('portal');
    browser = await launchBrowser();
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const step = story(() => [['', page]]);

  const url = (path) => `${server.url}${path}`;
  const onPath = (path) => page.waitForURL((u) => u.pathname === path);
  /** An alert with text in it (an empty live region does not count). */
  const alert = () => page.locator('[role=alert]').filter({ hasText: /\S/ }).first();

  async function signIn(email, password) {
    await hydrated(page);
    await page.locator('input[name=email]').fill(email);
    await page.locator('input[name=password]').fill(password);
    await page.locator('button[type=submit]').click();
  }

  async function expectDashboard() {
    await onPath('/');
    const h1 = page.locator('h1').first();
    await h1.waitFor();
    assert.equal((await h1.innerText()).trim(), 'Dashboard');
  }

  step('the server printed a one-time password for the bootstrap admin', () => {
    assert.ok(server.adminPassword, `no "one-time password: ..." line in ${server.logFile}`);
  });

  step('signed out, / redirects to /signin, which shows the sign-in form', async () => {
    await page.goto(url('/'));
    await onPath('/signin');
    for (const selector of ['input[name=email]', 'input[name=password]', 'button[type=submit]']) {
      await page.locator(selector).waitFor();
    }
    await hydrated(page);
    await screenshot(page, '01-signin');
  });

  step('a wrong password is refused and the page stays on /signin', async () => {
    await signIn(ADMIN_EMAIL, 'not-the-password');
    await page
      .locator('[role=alert]')
      .filter({ hasText: 'Incorrect email or password' })
      .first()
      .waitFor();
    assert.equal(pathOf(page), '/signin');
    await screenshot(page, '02-signin-wrong-password');
  });

  step('the first sign-in forces a password change at /account/password', async () => {
    await signIn(ADMIN_EMAIL, server.adminPassword);
    await onPath('/account/password');
    for (const name of ['current_password', 'new_password', 'confirm_password']) {
      await page.locator(`input[name=${name}]`).waitFor();
    }
    await page.locator('button[type=submit]').waitFor();
    await hydrated(page);
    await screenshot(page, '03-change-password');
  });

  step('a too-short new password is refused with an error', async () => {
    await page.locator('input[name=current_password]').fill(server.adminPassword);
    await page.locator('input[name=new_password]').fill('short');
    await page.locator('input[name=confirm_password]').fill('short');
    await page.locator('button[type=submit]').click();
    await alert().waitFor();
    assert.equal(pathOf(page), '/account/password');
    await screenshot(page, '04-change-password-too-short');
  });

  step('a good new password lands on the dashboard', async () => {
    await hydrated(page);
    await page.locator('input[name=current_password]').fill(server.adminPassword);
    await page.locator('input[name=new_password]').fill(NEW_PASSWORD);
    await page.locator('input[name=confirm_password]').fill(NEW_PASSWORD);
    await page.locator('button[type=submit]').click();
    await expectDashboard();
  });

  step('after hydration the theme toggle switches <html class="dark">', async () => {
    await hydrated(page);
    const isDark = () => page.evaluate(() => document.documentElement.classList.contains('dark'));
    const flip = async () => {
      const before = await isDark();
      await page.locator('[data-testid=theme-toggle]').click();
      await page.waitForFunction(
        (was) => document.documentElement.classList.contains('dark') !== was,
        before,
      );
      return !before;
    };
    await screenshot(page, (await isDark()) ? '05-dashboard-dark' : '05-dashboard-light');
    const now = await flip();
    await screenshot(page, now ? '05-dashboard-dark' : '05-dashboard-light');
    const back = await flip();
    assert.notEqual(now, back, 'a second click switches back');
  });

  step('the navigation links every section', async () => {
    const nav = page.locator('nav');
    await nav.first().waitFor();
    const missing = [];
    for (const name of NAV_LINKS) {
      if ((await nav.getByRole('link', { name, exact: true }).count()) === 0) missing.push(name);
    }
    assert.deepEqual(missing, [], `links missing from <nav>: ${missing.join(', ')}`);
  });

  step('Keys shows its heading and an empty state on a new install', async () => {
    await page.locator('nav').getByRole('link', { name: 'Keys', exact: true }).first().click();
    await onPath('/keys');
    await page.locator('h1', { hasText: 'Keys' }).first().waitFor();
    assert.equal((await page.locator('h1').first().innerText()).trim(), 'Keys');
    // A new install has no keys: the page must say so rather than show rows.
    await page
      .locator('[data-testid=empty-state]')
      .or(page.getByText(/\bno\b[^.]*\bkeys?\b/i))
      .first()
      .waitFor();
    await screenshot(page, '06-keys-empty');
  });

  step('Keys: a key is made with its secret shown once, refused input names its field, block and delete work', async () => {
    await hydrated(page);
    const rows = page.locator('[data-testid=keys-table] tbody tr[data-key]');
    assert.equal(await rows.count(), 0);
    // Hostile text is a name like any other: shown as text, never run.
    const name = 'e2e <img src=x onerror=alert(1)>';
    await page.locator('#alias').fill(name);
    await page.locator('#max_budget').fill('5');
    await page.locator('#budget_duration').fill('30d');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.locator('[data-testid=secret]').innerText()).trim();
    assert.match(secret, /^sk-tg-[0-9A-Za-z]{40}$/);
    await rows.first().waitFor();
    assert.equal(await rows.count(), 1);
    const row = rows.first();
    assert.equal((await row.locator('td').first().innerText()).trim(), name);
    const masked = (await row.locator('td').nth(1).innerText()).trim();
    assert.equal(masked, `${secret.slice(0, 10)}...${secret.slice(-4)}`);
    assert.match(await row.innerText(), /\$5\.00 \/ 30d/);
    await screenshot(page, '06b-keys-created');

    // Refused: the message names the field, and nothing is added.
    await page.locator('#alias').fill('too fast');
    await page.locator('#max_budget').fill('');
    await page.locator('#budget_duration').fill('');
    await page.locator('#rpm_limit').fill('-5');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('alert').filter({ hasText: /negative/ }).first().waitFor();
    assert.equal(await rows.count(), 1);

    // Block, then unblock.
    await row.getByRole('button', { name: 'Block' }).click();
    await row.locator('.badge', { hasText: 'blocked' }).waitFor();
    await row.getByRole('button', { name: 'Unblock' }).click();
    await row.locator('.badge', { hasText: 'active' }).waitFor();

    // The secret is not shown again after a reload.
    await page.reload();
    await hydrated(page);
    await rows.first().waitFor();
    assert.equal(await page.locator('[data-testid=secret]').count(), 0);
    assert.ok(!(await page.content()).includes(secret), 'the secret is nowhere on the page');

    // Delete asks first.
    page.once('dialog', (d) => d.accept());
    await rows.first().getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No keys match.').waitFor();
  });

  step('sign-out returns to /signin, and / then redirects there again', async () => {
    await page.locator('[data-testid=sign-out]').first().click();
    await onPath('/signin');
    await page.goto(url('/'));
    await onPath('/signin');
    await screenshot(page, '07-signed-out');
  });

  step('signing in with the new password goes straight to the dashboard', async () => {
    await signIn(ADMIN_EMAIL, NEW_PASSWORD);
    await expectDashboard();
    await screenshot(page, '08-signed-in-again');
  });

  step('no uncaught errors in the page', () => {
    assert.deepEqual(browser.errors, []);
  });
});

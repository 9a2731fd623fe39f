// The dashboard in a real browser (Debian's Chromium driven by playwright-core): sign in, create a key,
// use it through the openai SDK, see its spend in the key list, the usage chart and the logs, block it
// and see the API refuse it, sign out. Every page is screenshotted into test-results/screenshots/.
// The page must run under its CSP without a single violation or script error.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { MASTER_KEY, REPO, startInProcess, type TestGateway } from '../helpers/gateway.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(REPO, 'test-results/screenshots');
/** The flags this machine needs: no sandbox as root, and no calls to Google's services. */
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let fake: FakeUpstream;
let gw: TestGateway;
let browser: Browser;
let page: Page;
const problems: string[] = [];

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startInProcess(`model_list:
  - model_name: gpt-4o
    litellm_params: { model: openai/gpt-4o, api_base: "${fake.url}", input_cost_per_token: 0.0000025, output_cost_per_token: 0.00001 }
  - model_name: gpt-4o-mini
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${fake.url}", input_cost_per_token: 0.00000015, output_cost_per_token: 0.0000006 }
`);
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    // Refusals the tests provoke (the signed-out session probe, the wrong password, the taken alias)
    // log "Failed to load resource"; anything else is a problem.
    if (msg.type() === 'error' && !/Failed to load resource: the server responded with a status of 40[01]/.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });
});
after(async () => {
  await browser?.close();
  await gw.close();
  await fake.close();
});

const shot = (name: string, on: Page = page) => on.screenshot({ path: join(SHOTS, `${name}.png`) });

describe('the dashboard in Chromium', { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (.ci/run installs it)` }, () => {
  let rawKey = '';

  test('sign in: a wrong password is refused with the reason, the right one opens the keys page', async () => {
    await page.goto(`${gw.url}/ui`);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Invalid username or password').waitFor();
    await shot('01-sign-in');
    await page.getByLabel('Password').fill(MASTER_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('table', { name: 'Keys' }).waitFor();
    assert.equal(await page.getByTestId('current-user').innerText(), 'admin');
    // Run in the page (the test's own types have no DOM): everything a script there could read.
    const stored = await page.evaluate('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie');
    assert.ok(!String(stored).includes(MASTER_KEY) && !String(stored).includes('llmproxy_session'), 'no secret readable by scripts');
  });

  test('create a key with models, budget and limits; the key is shown once', async () => {
    await page.getByRole('button', { name: 'Create key' }).click();
    const form = page.getByRole('dialog', { name: 'Create key' });
    await form.getByLabel('Alias').fill('ui-e2e');
    await form.getByLabel('gpt-4o', { exact: true }).check();
    await form.getByLabel('Max budget (USD)').fill('-1');
    await form.getByRole('button', { name: 'Create key' }).click();
    await form.getByText(/0 or more|must be/i).first().waitFor();
    await form.getByLabel('Max budget (USD)').fill('5');
    await form.getByLabel('Budget period').selectOption('30d');
    await form.getByLabel('RPM limit').fill('100');
    await form.getByLabel('Metadata (JSON)').fill('{"team": "e2e"}');
    await shot('02-create-key');
    await form.getByRole('button', { name: 'Create key' }).click();
    const created = page.getByRole('dialog', { name: 'Key created' });
    rawKey = (await created.getByTestId('new-key').innerText()).trim();
    assert.match(rawKey, /^sk-[A-Za-z0-9_-]{32}$/);
    await shot('03-key-created');
    await created.getByRole('button', { name: 'Done' }).click();
    const info = (await (await fetch(`${gw.url}/key/info?key=${rawKey}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as any;
    assert.deepEqual([info.info.key_alias, info.info.models, info.info.max_budget, info.info.budget_duration, info.info.rpm_limit, info.info.metadata], ['ui-e2e', ['gpt-4o'], 5, '30d', 100, { team: 'e2e' }]);
  });

  test('the server refusing a form shows its message', async () => {
    await page.getByRole('button', { name: 'Create key' }).click();
    const form = page.getByRole('dialog', { name: 'Create key' });
    await form.getByLabel('Alias').fill('ui-e2e');
    await form.getByRole('button', { name: 'Create key' }).click();
    await form.getByText('Key alias "ui-e2e" is already in use.').waitFor();
    await form.getByRole('button', { name: 'Cancel' }).click();
  });

  test("the key's calls through the openai SDK show as spend in the key list", async () => {
    const client = new OpenAI({ apiKey: rawKey, baseURL: gw.url, maxRetries: 0 });
    for (let i = 0; i < 2; i++) await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'one two three four' }] });
    await page.reload();
    await page.getByLabel('Search keys').fill('ui-e2e');
    const row = page.getByTestId('key-row').filter({ hasText: 'ui-e2e' });
    // 2 x (4 x 2,500 + 15 x 10,000 nano-dollars) = $0.00032 of the $5 budget
    await row.getByText('$0.00032').waitFor();
    await shot('04-keys');
  });

  test('the usage page charts it, with totals and the key among the top spenders', async () => {
    await page.goto(`${gw.url}/ui#/usage`);
    await page.getByTestId('usage-chart').locator('canvas').first().waitFor();
    await page.getByTestId('tokens-chart').locator('canvas').first().waitFor();
    await page.getByText('$0.00032').first().waitFor();
    await page.getByText('ui-e2e').first().waitFor();
    await shot('05-usage');
  });

  test('the logs list its calls, each opening to its detail', async () => {
    await page.goto(`${gw.url}/ui#/logs`);
    const rows = page.getByTestId('log-row').filter({ hasText: 'ui-e2e' });
    await rows.first().waitFor();
    assert.equal(await rows.count(), 2);
    await shot('06-logs');
    await rows.first().click();
    const detail = page.getByRole('dialog', { name: 'Request details' });
    await detail.getByText('$0.00016').first().waitFor();
    await shot('07-log-detail');
    await page.keyboard.press('Escape');
  });

  test('the models page shows deployments, prices and health', async () => {
    await page.goto(`${gw.url}/ui#/models`);
    await page.getByTestId('deployment-row').first().waitFor();
    await page.getByText('Healthy').first().waitFor();
    await shot('08-models');
  });

  test('users: create one with a dashboard password and a first key, shown once', async () => {
    await page.goto(`${gw.url}/ui#/users`);
    await page.getByRole('button', { name: 'Create user' }).click();
    const form = page.getByRole('dialog', { name: 'Create user' });
    await form.getByLabel('Email', { exact: true }).fill('dana@example.com');
    await form.getByLabel('Name', { exact: true }).fill('Dana');
    await form.getByLabel('Dashboard password').fill('short');
    await form.getByRole('button', { name: 'Create user' }).click();
    await form.getByText('Use 8 to 128 characters.').waitFor();
    await form.getByLabel('Dashboard password').fill('dana-secret-1');
    await form.getByLabel('Max budget (USD)').fill('20');
    await form.getByLabel('Budget period').selectOption('30d');
    await form.getByRole('button', { name: 'Create user' }).click();
    const created = page.getByRole('dialog', { name: 'User created, with a key' });
    assert.match((await created.getByTestId('new-key').innerText()).trim(), /^sk-/);
    await created.getByRole('button', { name: 'Done' }).click();
    const row = page.getByTestId('user-row').filter({ hasText: 'dana@example.com' });
    await row.getByText('Internal user').waitFor();
    await row.getByText('$20.00').waitFor();
    await shot('09-users');
  });

  test('teams: create one, add a member as its admin, see the members', async () => {
    await page.goto(`${gw.url}/ui#/teams`);
    await page.getByRole('button', { name: 'Create team' }).click();
    const form = page.getByRole('dialog', { name: 'Create team' });
    await form.getByLabel('Name', { exact: true }).fill('Search');
    await form.getByLabel('Team ID').fill('search');
    await form.getByLabel('Max budget (USD)').fill('100');
    await form.getByRole('button', { name: 'Create team' }).click();
    const row = page.getByTestId('team-row').filter({ hasText: 'Search' });
    await row.waitFor();
    await row.getByRole('button', { name: 'Members of Search' }).click();
    const members = page.getByRole('dialog', { name: 'Members of Search' });
    await members.getByRole('button', { name: 'Add member' }).click();
    await members.getByText('Enter the email or user id of the person to add.').waitFor();
    await members.getByPlaceholder('Email or user id').fill('dana@example.com');
    await members.getByLabel('Role').selectOption('admin');
    await members.getByRole('button', { name: 'Add member' }).click();
    await members.getByTestId('member-row').filter({ hasText: 'dana@example.com' }).waitFor();
    assert.equal(await members.getByLabel('Role of dana@example.com').inputValue(), 'admin');
    await shot('10-team-members');
    await members.getByRole('button', { name: 'Done' }).click();
    await row.getByRole('button', { name: 'Members of Search' }).getByText('1').waitFor();
    await shot('11-teams');
    const team = (await (await fetch(`${gw.url}/team/info?team_id=search`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as any;
    assert.deepEqual(team.team_info.members_with_roles.map((m: any) => [m.user_email, m.role]), [['dana@example.com', 'admin']]);
    assert.equal(team.team_info.max_budget, 100);
  });

  test('organizations: create one with models, add a member', async () => {
    await page.goto(`${gw.url}/ui#/orgs`);
    await page.getByRole('button', { name: 'Create organization' }).click();
    const form = page.getByRole('dialog', { name: 'Create organization' });
    await form.getByLabel('Name', { exact: true }).fill('Acme Research');
    await form.getByLabel('gpt-4o-mini', { exact: true }).check();
    await form.getByRole('button', { name: 'Create organization' }).click();
    const row = page.getByTestId('org-row').filter({ hasText: 'Acme Research' });
    await row.getByRole('button', { name: 'Members of Acme Research' }).click();
    const members = page.getByRole('dialog', { name: 'Members of Acme Research' });
    await members.getByPlaceholder('Email or user id').fill('dana@example.com');
    await members.getByRole('button', { name: 'Add member' }).click();
    await members.getByTestId('member-row').filter({ hasText: 'dana@example.com' }).waitFor();
    await members.getByRole('button', { name: 'Done' }).click();
    await row.getByText('gpt-4o-mini').waitFor();
    await shot('12-organizations');
  });

  test('a user signs in with their email: their own keys and teams, none of the admin pages', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const mine = await context.newPage();
    mine.on('pageerror', (err) => problems.push(`page error (user): ${err.message}`));
    await mine.goto(`${gw.url}/ui`);
    await mine.getByLabel('Username').fill('dana@example.com');
    await mine.getByLabel('Password').fill('dana-secret-1');
    await mine.getByRole('button', { name: 'Sign in' }).click();
    await mine.getByRole('table', { name: 'Keys' }).waitFor();
    assert.equal(await mine.getByTestId('current-user').innerText(), 'dana@example.com');
    await mine.getByTestId('key-row').first().waitFor();
    assert.equal(await mine.getByTestId('key-row').count(), 1, 'only the key made for them, not the admin’s');
    const nav = mine.getByRole('navigation', { name: 'Main' });
    assert.deepEqual(await nav.getByRole('link').allInnerTexts(), ['Keys', 'Teams', 'Organizations', 'Usage', 'Logs']);
    await mine.goto(`${gw.url}/ui#/teams`);
    await mine.getByTestId('team-row').filter({ hasText: 'Search' }).waitFor();
    assert.equal(await mine.getByRole('button', { name: 'Create team' }).count(), 0);
    await shot('13-user-teams', mine);
    await context.close();
  });

  test('block the key: the API refuses it', async () => {
    await page.goto(`${gw.url}/ui#/keys`);
    await page.getByLabel('Search keys').fill('ui-e2e');
    const row = page.getByTestId('key-row').filter({ hasText: 'ui-e2e' });
    await row.getByRole('button', { name: 'Block', exact: true }).click();
    await row.getByText('Blocked').waitFor();
    const client = new OpenAI({ apiKey: rawKey, baseURL: gw.url, maxRetries: 0 });
    const err = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    assert.ok(err instanceof OpenAI.AuthenticationError, String(err));
    assert.match(err.message, /blocked/);
  });

  test('sign out: back to sign-in, and the old session is dead', async () => {
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'llmproxy_session')!;
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    const res = await fetch(`${gw.url}/ui/api/session`, { headers: { cookie: `llmproxy_session=${session.value}` } });
    assert.equal(res.status, 401);
  });

  test('the first page stays light: everything loaded until the key list shows is under 45 KB gzipped', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const fresh = await context.newPage();
    const login = await fetch(`${gw.url}/ui/api/login`, { method: 'POST', body: JSON.stringify({ username: 'admin', password: MASTER_KEY }) });
    const [name, value] = login.headers.get('set-cookie')!.split(';')[0]!.split('=') as [string, string];
    await context.addCookies([{ name, value, url: gw.url }]);
    await fresh.goto(`${gw.url}/ui`);
    await fresh.getByRole('table', { name: 'Keys' }).waitFor();
    // Bytes on the wire (gzip), the page itself and every file it fetched, API answers included.
    const bytes = (await fresh.evaluate(
      "performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource')).reduce((n, e) => n + e.encodedBodySize, 0)",
    )) as number;
    await context.close();
    assert.ok(bytes > 10_000 && bytes < 45_000, `${bytes} bytes`);
  });

  test('no script error and no CSP violation on any page', () => {
    assert.deepEqual(problems, []);
  });
});

// The console in a real browser: Debian's Chromium, headless, driven by
// puppeteer-core, against a real sluiced started here on loopback with a
// fresh data directory. It logs in with the one-time token, checks a policy
// with an error and finds it at its line, dry-runs, applies, rolls back,
// filters the audit log and exports CSV, and checks that water's
// administrator cannot read power's policy or entries (by URL either),
// and that POSTs without the CSRF token, from another origin or without
// the session cookie are refused. Screenshots of each page go to
// $SCREENSHOTS (the build directory).
//
// env: SLUICED SLUICECTL SLUICE_CONSOLE EXAMPLE_PUBLISH EXAMPLE_CONSUME
//      SOURCE_ROOT SCREENSHOTS [CHROMIUM=/usr/bin/chromium]
// Prints "N passed, M failed"; exit 0 only when nothing failed; 77 (skip)
// when Chromium or the npm packages are missing.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { createRequire } from 'node:module';

const env = process.env;
const CHROMIUM = env.CHROMIUM || '/usr/bin/chromium';
const require = createRequire(import.meta.url);
let puppeteer;
try {
  puppeteer = require('puppeteer-core');
} catch (e) {
  console.log('SKIP: puppeteer-core is not installed in tests/console/node_modules ' +
              '(scripts/install-deps.sh runs npm ci there)');
  process.exit(77);
}
if (!fs.existsSync(CHROMIUM)) {
  console.log(`SKIP: no Chromium at ${CHROMIUM} (Debian package chromium)`);
  process.exit(77);
}

let passed = 0, failed = 0;
function check(ok, what, detail) {
  if (ok) { passed++; console.log(`ok   ${what}`); }
  else { failed++; console.log(`FAIL ${what}${detail ? ': ' + detail : ''}`); }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-console-test-'));
const data = path.join(tmp, 'data'), keys = path.join(tmp, 'keys');
const shots = env.SCREENSHOTS || path.join(tmp, 'shots');
fs.mkdirSync(keys);
fs.mkdirSync(shots, { recursive: true });
const children = [];
const ctlEnv = { ...env, SLUICE_DATA: data };
delete ctlEnv.SLUICE_KEY; delete ctlEnv.SLUICE_ENDPOINT; delete ctlEnv.SLUICE_BROKER_KEY;

function ctl(...args) {
  return execFileSync(env.SLUICECTL, args, { env: ctlEnv, encoding: 'utf8' });
}
function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
function start(bin, args, name, stdin = 'ignore') {
  const log = fs.openSync(path.join(tmp, name + '.log'), 'w');
  const child = spawn(bin, args, { env: ctlEnv, stdio: [stdin, 'pipe', log] });
  child.out = '';
  child.stdout.on('data', (d) => { child.out += d; });
  children.push(child);
  return child;
}
async function waitFor(fn, what, ms = 15000) {
  const end = Date.now() + ms * Number(env.SLUICE_TEST_TIME_SCALE || 1);
  while (Date.now() < end) {
    if (await fn()) return true;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}
async function startConsole(key, ...more) {
  const c = start(env.SLUICE_CONSOLE, ['--data', data, '--key', key, '--listen', '127.0.0.1:0', ...more],
                  'console-' + path.basename(key, '.key'));
  await waitFor(() => /^http:\/\/\S+$/m.test(c.out), `the console URL (${path.basename(key)})`);
  c.url = c.out.match(/^(http:\/\/\S+)$/m)[1];
  c.base = c.url.replace(/\/login\?.*$/, '');
  return c;
}
// A raw HTTP request (no browser): for the refusals a browser would not send.
function raw(base, method, p, headers, body) {
  return new Promise((resolve, reject) => {
    const u = new URL(p, base);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search,
                               method, headers }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text, headers: res.headers }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}
// Clicks `sel` and waits for the page it loads; the navigation's response.
async function submit(page, sel) {
  return (await Promise.all([page.waitForNavigation(), page.click(sel)]))[0];
}
// Sets a form field's value (replacing what is there, without typing).
function setValue(page, sel, v) {
  return page.$eval(sel, (e, x) => { e.value = x; }, v);
}
// Types each value into its field: { selector: text }.
async function fill(page, fields) {
  for (const [sel, v] of Object.entries(fields)) await page.type(sel, v);
}
// The text of the first element matching `sel`; of every one.
function text(page, sel) {
  return page.$eval(sel, (e) => e.textContent);
}
function texts(page, sel) {
  return page.$$eval(sel, (t) => t.map((x) => x.textContent));
}
// The consents page's list for one subject (a city administrator's page):
// the text of each row.
async function consentsOf(page, subject) {
  await setValue(page, '#c-subject', subject);
  await submit(page, '#btn-consents');
  return texts(page, '#consents tbody tr');
}

const POLICY_ERR = `# Water shares pseudonymized hourly readings with power.
permit "water-to-power-joint-metering" {
  owner     water
  consumer  power
  records   water.v1.MeterReading
  purpose   joint-metering
  fields    district, date_observed, water_consumptoin_m3
  subject   pseudonymize
  time      coarsen hour
}
`;
const POLICY_OK = POLICY_ERR.replace('water_consumptoin_m3', 'water_consumption_m3');
const POLICY_KEEP = POLICY_OK.replace('subject   pseudonymize', 'subject   keep');

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, name + '.png'), fullPage: false });
}

let browser;
async function main() {
  // the test harness's launcher (tests/lib/tl-broker): sluiced init and run
  // in tmp/data, the members with their keys in tmp/keys; one JSON line when
  // ready; SIGTERM (the cleanup below) stops the broker cleanly
  const roles = [['water', 'member'], ['power', 'member'], ['parking', 'member'],
                   ['water-admin', 'admin:water'], ['power-admin', 'admin:power'],
                   ['auditor', 'auditor'], ['city-app', 'consent-source']];
  const broker = start(env.TL_BROKER, ['--dir', tmp, '--sluiced', env.SLUICED,
                                       ...roles.flatMap(([n, r]) => ['--member', `${n}:${r}`]),
                                       '--', '--checkpoint-interval-ms', '500'], 'tl-broker',
                       'pipe');
  await waitFor(() => broker.out.includes('\n'), 'the broker');
  ctl('policy', 'apply', path.join(env.SOURCE_ROOT, 'examples/policies/city.policy'));
  ctl('--key', path.join(keys, 'power-admin.key'), 'policy', 'apply',
      path.join(env.SOURCE_ROOT, 'examples/policies/power.policy'));
  // durable subscriptions: power (will be permitted) and parking (denied)
  const powerRx = start(env.EXAMPLE_CONSUME, ['--data', data, '--key', path.join(keys, 'power.key'),
                                             '--record-type', 'water.v1.MeterReading',
                                             '--purpose', 'joint-metering', '--count', '20',
                                             '--timeout', '20000'], 'power-consume');
  const parkingRx = start(env.EXAMPLE_CONSUME, ['--data', data, '--key',
                                               path.join(keys, 'parking.key'),
                                               '--record-type', 'water.v1.MeterReading',
                                               '--purpose', 'joint-metering', '--count', '1',
                                               '--timeout', '20000'], 'parking-consume');
  await waitFor(() => powerRx.out.includes('subscribed') && parkingRx.out.includes('subscribed'),
                'the subscriptions');

  browser = await puppeteer.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
           '--no-default-browser-check', '--disable-background-networking',
           '--disable-component-update', '--disable-domain-reliability', '--disable-sync',
           '--no-pings', '--metrics-recording-only', '--disable-breakpad',
           '--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication'],
    defaultViewport: { width: 1280, height: 860 },
  });

  // ---- water's administrator ------------------------------------------------
  const wc = await startConsole(path.join(keys, 'water-admin.key'));
  const page = await browser.newPage();
  const cspErrors = [];
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text()); });
  let r = await page.goto(wc.url);
  check(r.status() === 200 && page.url() === wc.base + '/', 'login with the one-time token lands on /',
        `${r.status()} ${page.url()}`);
  const cookies = await page.cookies();
  const sess = cookies.find((c) => c.name === 'sluice_console_' + new URL(wc.base).port);
  check(sess && sess.httpOnly && sess.sameSite === 'Strict', 'session cookie is HttpOnly, SameSite=Strict',
        JSON.stringify(sess));
  check(/script-src 'self'/.test(r.headers()['content-security-policy'] || '') &&
        !/unsafe-inline/.test(r.headers()['content-security-policy']), 'strict CSP header');
  check((await text(page, '#who')).includes('admin:water'), 'page names the role');
  await shot(page, 'overview');
  const again = await raw(wc.base, 'GET', wc.url.slice(wc.base.length), {});
  check(again.status === 403, 'the login token works once', String(again.status));

  // policy: check with an error, see it at its line
  r = await page.goto(wc.base + '/policy?owner=water');
  check(r.status() === 200, 'water admin opens its (empty) policy');
  await setValue(page, '#policy-text', POLICY_ERR);
  await submit(page, '#btn-check');
  const errLine = await page.$eval('li.diag', (li) => li.dataset.line).catch(() => null);
  check(errLine === '7', 'check reports the error at line 7', String(errLine));
  const lineText = await page.$eval('#L7', (tr) => tr.className + ' ' + tr.textContent).catch(() => '');
  check(/err/.test(lineText) && /water_consumptoin_m3/.test(lineText) && /\^/.test(lineText),
        'the listing marks line 7 with a caret and the message', lineText.slice(0, 160));
  const hint = await text(page, 'li.diag').catch(() => '');
  check(/water_consumption_m3/.test(hint), 'the diagnostic suggests the right field', hint);
  await page.click('li.diag');
  const sel = await page.$eval('#policy-text', (t) => t.value.slice(0, t.selectionStart).split('\n').length);
  check(sel === 7, 'clicking the diagnostic puts the cursor on line 7', String(sel));
  await shot(page, 'policy-check');

  // markup in the text stays text: escaped in the editor, the listing and the messages
  const evil = '# </textarea><script>window.pwned = 1</script><img src=x onerror="window.pwned=2">\n' + POLICY_ERR;
  await setValue(page, '#policy-text', evil);
  await submit(page, '#btn-check');
  const back = await page.$eval('#policy-text', (t) => t.value);
  const pwned = await page.evaluate(() => window.pwned);
  check(back === evil && pwned === undefined && (await page.$('main img')) === null,
        'markup in a policy comes back as text, nothing runs', `${pwned} ${back.slice(0, 60)}`);

  // dry run of the fixed text
  await setValue(page, '#policy-text', POLICY_OK);
  await submit(page, '#btn-dryrun');
  const access = await text(page, '#access-changes').catch(() => '');
  check(/power/.test(access) && /gains access/.test(access), 'dry run: power gains access', access.slice(0, 200));
  const subs = await text(page, '#subs-changes').catch(() => '');
  check(/power/.test(subs), 'dry run: power\'s live subscription is affected', subs.slice(0, 200));
  await shot(page, 'policy-dryrun');

  // apply needs a message
  r = await submit(page, '#btn-apply');
  check(r.status() === 400 && /change message/.test(await page.content()), 'apply without a message is refused');
  await page.type('#message', 'first policy: readings to power for joint metering');
  r = await submit(page, '#btn-apply');
  check(/applied as version 1/.test(await page.content()), 'apply makes version 1');

  // version 2 turns pseudonymize into keep: the most sensitive change
  await setValue(page, '#policy-text', POLICY_KEEP);
  await submit(page, '#btn-dryrun');
  const sens = await texts(page, '#access-changes tr.sensitive');
  check(sens.length === 1 && /pseudonymize/.test(sens[0]) && /keep/.test(sens[0]),
        'dry run highlights pseudonymize -> keep', JSON.stringify(sens));
  const plan = await text(page, '#dryrun');
  check(/would become version 2 \(now 1\)/.test(plan), 'dry run names the next and the current version',
        plan.slice(0, 200));
  await shot(page, 'policy-dryrun-sensitive');
  await page.type('#message', 'try raw ids');
  await submit(page, '#btn-apply');
  check(/applied as version 2/.test(await page.content()), 'apply makes version 2');
  const msgs = await texts(page, '#history td.message');
  check(msgs.includes('try raw ids') && msgs.includes('first policy: readings to power for joint metering'),
        'history shows the change messages', JSON.stringify(msgs));
  await shot(page, 'policy-history');
  // diff between the two versions
  await page.select('#v1', '1');
  await page.select('#v2', '2');
  await submit(page, '#btn-diff');
  const diffText = await text(page, 'main');
  check(/keep/.test(diffText) && /water-to-power-joint-metering/.test(diffText), 'diff of versions 1 and 2');
  await shot(page, 'policy-diff');
  // roll back to version 1
  await page.goto(wc.base + '/policy?owner=water');
  await submit(page, 'button.rollback[data-version="1"]');
  check(/rolled back: version 3 is now in force/.test(await page.content()), 'rollback to 1 makes version 3');
  const text3 = await page.$eval('#policy-text', (t) => t.value);
  check(text3.includes('subject   pseudonymize'), 'version 3 has version 1\'s text');

  // data flows: 20 readings, delivered to power, denied to parking
  for (let burst = 0; burst < 4; burst++) {     // four bursts, for the chart to show
    if (burst) await sleep(300);
    execFileSync(env.EXAMPLE_PUBLISH, ['--data', data, '--key', path.join(keys, 'water.key'),
                                       '--count', '5', '--subject', 'C-1001'], { env: ctlEnv });
  }
  await waitFor(() => powerRx.exitCode !== null, 'power to receive 20 readings', 30000);
  check(powerRx.exitCode === 0, 'power received the 20 readings', powerRx.out.slice(-200));

  // audit: filter and export
  r = await page.goto(wc.base + '/audit?kind=deliver&consumer=power&limit=50');
  const kinds = await texts(page, '#audit-entries tbody tr td:nth-child(3)');
  check(kinds.length === 20 && kinds.every((k) => k === 'deliver'), 'audit filter: 20 deliveries to power',
        `${kinds.length} ${[...new Set(kinds)]}`);
  await page.goto(wc.base + '/audit?record=water.v1.MeterReading&limit=8');
  await shot(page, 'audit');
  await submit(page, '#chart-link');
  const delivered = await page.$$eval('#chart rect.bar-deliver title', (t) => t.map((x) => parseInt(x.textContent, 10)));
  const denied = await page.$$eval('#chart rect.bar-deny title', (t) => t.map((x) => parseInt(x.textContent, 10)));
  check(delivered.reduce((a, b) => a + b, 0) === 20 && denied.reduce((a, b) => a + b, 0) === 20,
        'the chart counts 20 deliveries (power) and 20 denials (parking)', `${delivered} / ${denied}`);
  const summary = await texts(page, '#summary-rows tbody tr');
  check(summary.some((r) => /deliver.*power.*20/.test(r)) && summary.some((r) => /deny.*parking.*20/.test(r)),
        'the owner\'s summary counts them too', JSON.stringify(summary));
  // the same over the seconds the records flowed: the four bursts as bars
  const ts = await page.$$eval('#summary-rows tbody tr td:nth-child(7), #summary-rows tbody tr td:nth-child(8)',
                               (t) => t.map((x) => x.textContent).sort());
  const from = new Date(Date.parse(ts[0]) - 200).toISOString();
  const to = new Date(Date.parse(ts[ts.length - 1]) + 200).toISOString();
  await page.goto(wc.base + `/audit/chart?since=${from}&until=${to}`);
  const nbars = (await page.$$('#chart rect.bar-deliver')).length;
  check(nbars >= 3, 'over the seconds of the flow the chart shows the bursts', String(nbars));
  await shot(page, 'audit-chart');
  // a time range: the console bisects to its start; an old since sees all 20, a future one none
  await page.goto(wc.base + '/audit?kind=deliver&consumer=power&since=2020-01-01');
  check((await page.$$('#audit-entries tbody tr')).length === 20, 'since in the past: all 20');
  const times = await texts(page, '#audit-entries tbody tr td:nth-child(2)');
  const mid = times[9];
  await page.goto(wc.base + '/audit?kind=deliver&consumer=power&since=' + encodeURIComponent(mid));
  const after = await texts(page, '#audit-entries tbody tr td:nth-child(2)');
  check(after.length === times.filter((t) => t >= mid).length && after.every((t) => t >= mid),
        'since in the middle: exactly the entries at or after it', `${after.length} of ${times.length}`);
  await page.goto(wc.base + '/audit?kind=deliver&consumer=power&since=2099-01-01T00:00');
  check((await page.$$('#audit-entries tbody tr')).length === 0, 'since in the future: none');
  await page.goto(wc.base + '/audit?kind=deliver&consumer=power&limit=50');
  const href = await page.$eval('#export-csv', (a) => a.getAttribute('href'));
  const csv = await page.evaluate(async (h) => (await fetch(h)).text(), href);
  const rows = csv.trim().split('\r\n');
  check(rows[0].startsWith('seq,time_us,time,kind') && rows.length === 21 &&
        rows.slice(1).every((x) => x.split(',')[3] === 'deliver'), 'CSV export of the filtered view',
        `${rows.length} rows; ${rows[0]}`);
  const jhref = await page.$eval('#export-json', (a) => a.getAttribute('href'));
  const json = await page.evaluate(async (h) => (await fetch(h)).json(), jhref);
  check(json.count === 20 && Number.isInteger(json.entries[0].time_us) && json.complete === true,
        'JSON export with integer times', JSON.stringify(json).slice(0, 120));
  await page.goto(wc.base + '/audit?decision=deny&consumer=parking');
  const denies = await page.$$eval('#audit-entries tbody tr', (t) => t.length);
  check(denies === 20, 'audit filter: parking\'s 20 denials', String(denies));
  await page.goto(wc.base + '/audit?rule=water-to-power-joint-metering&kind=deliver&limit=5');
  const ruled = await page.$$eval('#audit-entries tbody tr', (t) => t.length);
  const next = await page.$('#next-page');
  check(ruled === 5 && next !== null, 'rule filter with paging (5 of 20, Next link)', String(ruled));
  r = await page.goto(wc.base + '/audit/verify');
  check(/OK/.test(await text(page, '#verify-result')), 'verify says OK');
  await shot(page, 'audit-verify');

  // explain
  await page.goto(wc.base + '/explain?consumer=power&record_type=water.v1.MeterReading&purpose=joint-metering');
  check((await text(page, '#decision')) === 'permit', 'explain: power is permitted');
  await shot(page, 'explain');
  await page.goto(wc.base + '/explain?consumer=parking&record_type=water.v1.MeterReading&purpose=joint-metering');
  check((await text(page, '#decision')) === 'deny', 'explain: parking is denied');
  // with a citizen id: a POST (the id stays out of the URL)
  await page.type('#x-subject', 'C-1001');
  await submit(page, '#btn-explain');
  check(!page.url().includes('C-1001') && (await page.$('#decision')) !== null,
        'explain with a citizen id is a POST and answers', page.url());

  // role confinement: power's policy and entries, by URL
  r = await page.goto(wc.base + '/policy?owner=power');
  let body = await text(page, 'main');
  check(r.status() === 403 && !/power-to-water/.test(body) && (await page.$('#policy-text')) === null,
        'water admin cannot open power\'s policy by URL', `${r.status()} ${body.slice(0, 160)}`);
  await shot(page, 'confinement-policy');
  r = await page.goto(wc.base + '/audit?owner=power');
  body = await text(page, 'main');
  check(r.status() === 403 && (await page.$('#audit-entries')) === null, 'water admin cannot read power\'s entries by URL',
        `${r.status()} ${body.slice(0, 160)}`);
  r = await page.goto(wc.base + '/audit?kind=deliver&consumer=water');
  const owners = await texts(page, '#audit-entries tbody tr td:nth-child(5)');
  check(owners.every((o) => o === 'water'), 'water admin sees only water-owned entries', JSON.stringify(owners.slice(0, 5)));
  const navReport = await page.$('nav a[href="/report"]');
  check(navReport === null, 'no citizen report link for admin:water');

  // CSRF, origin and cookie
  const csrfRes = await page.evaluate(async () => {
    const b = new URLSearchParams({ owner: 'water', text: 'x', message: 'm' });
    const res = await fetch('/policy/apply', { method: 'POST', body: b });
    return [res.status, await res.text()];
  });
  check(csrfRes[0] === 403 && /CSRF/.test(csrfRes[1]), 'POST without the CSRF token is refused', csrfRes.join(' '));
  const token = await page.$eval('input[name=csrf]', (i) => i.value);
  const cookie = `${sess.name}=${sess.value}`;
  const form = `csrf=${token}&owner=water&version=2`;
  const Host = new URL(wc.base).host, formType = 'application/x-www-form-urlencoded';
  let rr = await raw(wc.base, 'POST', '/policy/rollback', { Host, 'Content-Type': formType, Cookie: cookie,
                                                           Origin: 'http://evil.example' }, form);
  check(rr.status === 403 && /Origin/.test(rr.text), 'POST from another origin is refused', `${rr.status} ${rr.text}`);
  rr = await raw(wc.base, 'POST', '/policy/rollback', { Host, 'Content-Type': formType }, form);
  check(rr.status === 401, 'POST without the session cookie is refused', String(rr.status));
  rr = await raw(wc.base, 'GET', '/policies', { Host });
  check(rr.status === 401, 'GET without the session cookie is refused', String(rr.status));
  rr = await raw(wc.base, 'GET', '/policies', { Host: 'attacker.example:80', Cookie: cookie });
  check(rr.status === 421, 'a foreign Host header is refused', String(rr.status));
  const hist = JSON.parse(ctl('--json', 'policy', 'history', 'water'));
  check(hist.current === 3, 'none of the refused POSTs changed the policy', String(hist.current));
  rr = await raw(wc.base, 'GET', '/static/console.js', { Host });
  check(rr.status === 200 && /'use strict'/.test(rr.text), 'assets are served from the binary');
  check(cspErrors.length === 0, 'no CSP violations in the pages', cspErrors.join('; '));
  // log out: the cookie stops working at once
  await page.bringToFront();
  await page.goto(wc.base + '/policies');
  await submit(page, 'header form button');
  rr = await raw(wc.base, 'GET', '/policies', { Host, Cookie: cookie });
  check(rr.status === 401, 'after Log out the session cookie is refused', String(rr.status));

  // ---- the auditor --------------------------------------------------------------
  const ac = await startConsole(path.join(keys, 'auditor.key'));
  const ap = await browser.newPage();
  await ap.goto(ac.url);
  await ap.goto(ac.base + '/report');
  await ap.type('#r-subject', 'C-1001');
  await submit(ap, '#btn-report');
  const rep = await ap.$$eval('#report-entries tbody tr', (t) => t.length);
  check(rep >= 40, 'auditor: the citizen report lists the deliveries and denials', String(rep));
  await shot(ap, 'citizen-report');
  const lentries = ctl('--json', 'audit', 'query', '--kind', 'lookup').split('\n')
    .filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l));
  check(lentries.some((e) => e.actor === 'auditor' && /command=audit\.report/.test(e.detail)),
        'the broker recorded the auditor\'s lookup', JSON.stringify(lentries).slice(0, 200));
  await ap.goto(ac.base + '/policies');
  const owners2 = await texts(ap, '#policies tbody tr td:first-child');
  check(owners2.join(',') === 'city,power,water', 'auditor: every owner\'s policy is listed', owners2.join(','));
  await shot(ap, 'policies');
  await ap.goto(ac.base + '/policy?owner=water');
  check((await ap.$('#btn-apply')) === null && (await ap.$('#policy-text')) !== null,
        'auditor reads water\'s policy, without Apply');
  await ap.goto(ac.base + '/consents');
  await ap.type('#c-subject', 'C-1001');
  await submit(ap, '#btn-consents');
  check((await ap.$('#no-consents')) !== null, 'auditor: consent lookup answers');
  check((await ap.$('#consent-grant')) === null, 'auditor: no form to record a consent');

  // ---- the city administrator: records and withdraws a consent ----------------
  const cc = await startConsole(path.join(data, 'admin.key'));
  const cp = await browser.newPage();
  await cp.goto(cc.url);
  await cp.goto(cc.base + '/consents');
  await cp.type('#g-subject', 'C-2002');
  await setValue(cp, '#g-controller', 'health');
  await fill(cp, { '#g-recipient': 'parking', '#g-purpose': 'parking-fee-waiver',
                   '#g-records': 'health.v1.Encounter', '#g-evidence': 'signed form 2026-117' });
  await submit(cp, '#btn-grant');
  let ctext = await text(cp, 'main');
  check(/consent\.grant: consent/.test(ctext), 'city admin records a consent', ctext.slice(0, 300));
  const crow = await consentsOf(cp, 'C-2002');
  check(crow.length === 1 && /health/.test(crow[0]) && /parking/.test(crow[0]), 'the consent is listed', JSON.stringify(crow));
  await shot(cp, 'consents');
  await submit(cp, 'button.withdraw');
  ctext = await text(cp, 'main');
  check(/consent\.withdraw: consent .*withdrawn/.test(ctext), 'city admin withdraws it', ctext.slice(0, 300));
  const kinds2 = ctl('--json', 'audit', 'query', '--kind', 'consent.').toString();
  check(/consent\.grant/.test(kinds2) && /consent\.withdraw/.test(kinds2) && /"actor":\s*"admin"/.test(kinds2),
        'both are in the audit log as the city administrator', kinds2.slice(0, 200));

  // the city administrator's policy pages: every owner listed, the city's editable, others read only
  await cp.goto(cc.base + '/policies');
  const cowners = await texts(cp, '#policies tbody tr td:first-child');
  check(cowners.join(',') === 'city,power,water', 'city admin: every owner listed', cowners.join(','));
  await cp.goto(cc.base + '/policy?owner=city');
  check((await cp.$('#btn-apply')) !== null, 'city admin may apply the city policy');
  await cp.goto(cc.base + '/policy?owner=water');
  check((await cp.$('#btn-apply')) === null && (await cp.$('#policy-text')) !== null,
        'city admin reads water\'s policy, without Apply');
  const rep2 = await cp.goto(cc.base + '/report');
  check(rep2.status() === 200 && (await cp.$('#r-subject')) !== null, 'city admin has the citizen report');
  await cp.goto(cc.base + '/consents');

  // ---- the city's consent channel (consent-source): data-plane ConsentEvents --
  const sc = await startConsole(path.join(keys, 'city-app.key'), '--consent-source');
  const sp = await browser.newPage();
  await sp.goto(sc.url);
  const snav = await texts(sp, 'nav a');
  check(snav.length === 1 && snav[0] === 'Consents', 'consent-source: only the Consents page', JSON.stringify(snav));
  await sp.goto(sc.base + '/consents');
  await fill(sp, { '#g-subject': 'C-3003', '#g-controller': 'health', '#g-recipient': 'parking',
                   '#g-purpose': 'parking-fee-waiver', '#g-records': 'health.v1.Encounter' });
  await submit(sp, '#btn-grant');
  let note = await text(sp, 'main');
  const sid = (note.match(/consent (console-[0-9a-f]+) given: applied by the broker/) || [])[1];
  check(!!sid, 'consent-source records a consent given (a ConsentEvent publish)', note.slice(0, 300));
  await cp.bringToFront();
  let srow = await consentsOf(cp, 'C-3003');
  check(srow.length === 1 && srow[0].includes(sid) && !/withdrawn/.test(srow[0]),
        'the city administrator sees it', JSON.stringify(srow));
  await sp.bringToFront();
  await fill(sp, { '#w-id': sid || 'none', '#w-subject': 'C-3003' });
  await submit(sp, '#btn-withdraw');
  note = await text(sp, 'main');
  check(/withdrawn: applied by the broker/.test(note), 'consent-source records the withdrawal', note.slice(0, 300));
  await cp.bringToFront();
  srow = await consentsOf(cp, 'C-3003');
  check(srow.length === 1 && /withdrawn/.test(srow[0]), 'the city administrator sees it withdrawn', JSON.stringify(srow));
  await sp.bringToFront();
  await shot(sp, 'consents-channel');
  await ap.bringToFront();

  await ap.goto(ac.base + '/');
  const members = await ap.$$eval('#members tbody tr', (t) => t.length);
  check(members === 8, 'members page lists the 8 members',
        `${members}: ${(await text(ap, 'main')).slice(0, 300)}`);
  await shot(ap, 'members-status');
  // the lookup itself: what the broker recorded is for the policy-audit work;
  // here only that the report came from the broker with the auditor's key
  await ap.goto(ac.base + '/audit?owner=water&kind=deliver');
  await shot(ap, 'audit-auditor');
}

try {
  await main();
} catch (e) {
  check(false, 'the test ran to its end', e && e.stack ? e.stack : String(e));
} finally {
  if (browser) await browser.close().catch(() => {});
  for (const c of children.reverse()) {
    if (c.exitCode === null) c.kill('SIGTERM');
  }
  await sleep(300);
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  if (failed) {
    for (const f of fs.readdirSync(tmp).filter((f) => f.endsWith('.log'))) {
      console.log(`--- ${f}`);
      console.log(fs.readFileSync(path.join(tmp, f), 'utf8').split('\n').slice(-15).join('\n'));
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`screenshots: ${shots}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

// Hostile links: script tags, quotes, javascript:/data: URLs, huge, negative and NaN numbers, overlong values
// and unknown keys in the fragment (or the query) change nothing and run nothing: no dialog, no navigation,
// no global set by injected script, no page error, no injected element; each ignored field is named in a
// notice. And the page's scripts never use an HTML sink or an eval.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, noFixtures, openBrowser, serveModels, shared, viewState } from './helpers.mjs';

test('www/*.js never uses innerHTML, outerHTML, insertAdjacentHTML, eval, new Function or document.write', () => {
  const sinks = /\b(innerHTML|outerHTML|insertAdjacentHTML|document\s*\.\s*write(ln)?|eval)\b|\bnew\s+Function\b|\bFunction\s*\(|setTimeout\s*\(\s*['"`]|setInterval\s*\(\s*['"`]/;
  const files = readdirSync(join(ROOT, 'www')).filter((f) => f.endsWith('.js'));
  assert.ok(files.includes('app.js') && files.includes('link.js'), `scanned ${files}`);
  for (const f of files) {
    readFileSync(join(ROOT, 'www', f), 'utf8').split('\n').forEach((line, i) => {
      assert.doesNotMatch(line, sinks, `www/${f}:${i + 1}: ${line.trim()}`);
    });
  }
  // Nor inline handlers or scripts in the page itself.
  const html = readFileSync(join(ROOT, 'www/index.html'), 'utf8');
  assert.doesNotMatch(html, /\son[a-z]+\s*=|javascript:|<script(?![^>]*\bsrc=)/i);
});

const overlong = 'x'.repeat(5000);
const SCRIPT = '<script>window.__pwned = "script"</script>';
const IMG = '<img src=x onerror="window.__pwned = \'img\'">';
const SVG = '"><svg onload="window.__pwned=\'svg\'">';
// Fields that no model can make valid.
const HOSTILE = [
  ['weights', 'data:text/html,<script>window.__pwned="data"</script>'],
  ['mean', ' javascript:window.__pwned="mean"'],
  ['labels', 'file:///etc/passwd'],
  ['image', 'java\tscript:window.__pwned="tab"'],
  ['image', 'vbscript:msgbox(1)'],
  ['image', 'blob:http://127.0.0.1/1234'],
  ['image', 'http://user:secret@127.0.0.1/x.jpg'],
  ['image', 'local:<script>:x.jpg'],
  ['image', `local:${'a'.repeat(64)}:../../etc/passwd`],
  ['layer', IMG],
  ['maps', SCRIPT],
  ['filters', SVG],
  ['camlayer', overlong],
  ['channel', '-1'],
  ['cam', '1e309'],
  ['zoom', 'NaN'],
  ['pad', '99999999999999999999'],
  ['first', '0x10'],
  ['count', '+5'],
  ['current', '-0'],
  ['scale', 'Infinity'],
  ['meanv', '1,2,3,4,5'],
  ['at', '1,2,3'],
  ['unit', '<b>max</b>'],
  ['method', 'eval'],
  ['render', 'javascript:alert(1)'],
  ['order', 'bgr'],
  ['norm', '__proto__'],
  ['lrn', 'true'],
  ['usemean', '"><script>window.__pwned=1</script>'],
  ['__proto__', 'polluted'],
  ['constructor', 'x'],
  ['hasOwnProperty', '1'],
  ['onload', 'alert(1)'],
  [`<svg onload=alert(1)>${'k'.repeat(300)}`, '1'],
];
const fragment = (pairs) => new URLSearchParams(pairs).toString();

let b;
let models;
const dialogs = [];
const navigations = [];
before(async () => {
  b = await openBrowser();
  b.page.on('dialog', (d) => {
    dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  b.page.on('framenavigated', (f) => { if (f === b.page.mainFrame()) navigations.push(f.url()); });
  if (!noFixtures) models = await serveModels({ 'mnist-8.onnx': shared('fixtures/onnx/mnist-8.onnx') });
});
after(async () => {
  await b?.close();
  models?.close();
});

// The page's elements outside the notice, as tag#id counts, and signs of injection anywhere.
const domState = (page) => page.evaluate(() => {
  const inNotice = (e) => e.closest('#notice-list');
  const tags = {};
  for (const e of document.querySelectorAll('*')) {
    if (inNotice(e)) continue;
    const key = `${e.tagName}${e.id ? `#${e.id}` : ''}`;
    tags[key] = (tags[key] ?? 0) + 1;
  }
  const handlers = [...document.querySelectorAll('*')].flatMap((e) => [...e.attributes]
    .filter((a) => /^on/i.test(a.name) || /^\s*(javascript|data|vbscript):/i.test(a.value)).map((a) => `${e.tagName} ${a.name}`));
  const notice = [...document.querySelectorAll('#notice-list li')];
  return {
    tags,
    handlers,
    scripts: [...document.scripts].map((s) => s.getAttribute('src')),
    noticeElements: notice.filter((li) => li.children.length).length,
    pwned: window.__pwned ?? null,
    polluted: ({}).polluted ?? null,
  };
});

const notices = (page) => page.$$eval('#notice-list li', (lis) => lis.map((li) => li.textContent));

test('a hostile link without a usable model loads nothing, runs nothing and says what it ignored', async () => {
  const { page, errors } = b;
  await b.open();
  // The examples menu fills in after a fetch: the clean state is the settled page.
  await page.waitForLoadState('networkidle');
  const clean = await domState(page);
  const cleanView = await viewState(page);
  const requests = models?.requests.length;
  for (const [how, url] of [
    ['fragment', `${b.url}#${fragment([['model', 'javascript:window.__pwned="model"'], ...HOSTILE])}`],
    ['query', `${b.url}?${fragment([['model', 'javascript:window.__pwned="model"'], ['model', 'https://example.com/m.onnx'], ...HOSTILE.slice(10)])}`],
    ['fragment, model as data:', `${b.url}#model=${encodeURIComponent('data:application/octet-stream;base64,AAAA')}&layer=${encodeURIComponent(SCRIPT)}`],
  ]) {
    await page.goto('about:blank');
    navigations.length = 0;
    await page.goto(url);
    await page.waitForSelector('#notice:not([hidden])');
    await page.waitForTimeout(300);
    const got = await notices(page);
    console.log(`${how}:\n  ${got.join('\n  ')}`);
    assert.ok(got.includes('the link names no usable model, so nothing was loaded'), how);
    assert.ok(got.some((n) => /^model “(javascript|data):.*is not an http\(s\) address: ignored$/.test(n)), `${how}: model`);
    if (how === 'fragment') {
      // One notice per hostile field, unknown keys named (shortened) too. (Layer names are checked against
      // a model: without one they go with the model.)
      for (const [key] of HOSTILE.filter(([k]) => !['layer', 'maps', 'filters'].includes(k))) {
        const name = ['__proto__', 'constructor', 'hasOwnProperty', 'onload'].includes(key) || key.startsWith('<')
          ? `unknown field “${key.slice(0, 40)}` : `${key} “`;
        assert.ok(got.some((n) => n.startsWith(name)), `${how}: nothing said about ${key.slice(0, 40)}`);
      }
      assert.ok(got.every((n) => n.length < 200), 'overlong values are shortened in notices');
    }
    if (how === 'query') assert.ok(got.includes('model is given more than once: only the first counts'));
    const dom = await domState(page);
    assert.deepEqual(dom, { ...clean, noticeElements: 0 }, `${how}: the DOM changed`);
    const view = await viewState(page);
    assert.deepEqual({ ...view, hash: '' }, { ...cleanView, hash: '' }, `${how}: the view changed`);
    assert.ok(page.url() === url, `${how}: the address changed`);
    assert.ok(navigations.length === 1 && navigations[0] === url, `${how}: ${navigations.length} navigations`);
    assert.ok(await page.isHidden('#network-section'));
    assert.ok(await page.isHidden('#error'));
    assert.equal(await page.textContent('#status'), '');
  }
  assert.equal(models?.requests.length, requests, 'nothing was downloaded');
  assert.deepEqual(dialogs, []);
  assert.deepEqual(errors, []);
});

test('hostile fields beside a good model URL are ignored: the view is the model\'s default one', { skip: noFixtures, timeout: 60_000 }, async () => {
  const { page, errors } = b;
  const model = `${models.url}cors/mnist-8.onnx`;
  const settled = () => page.waitForFunction(() => /^Loaded/.test(document.getElementById('status').textContent)
    && location.hash.startsWith('#model=') && !document.querySelector('#filter-canvas:not([data-layer])'));
  // The plain model link, for reference.
  await page.goto(`${b.url}#${fragment([['model', model]])}`);
  await settled();
  await page.waitForTimeout(300);
  const want = await viewState(page);
  const clean = await domState(page);

  // Some fields are well formed but do not fit this model.
  const misfits = [['filters', 'conv99'], ['maps', 'nope'], ['layer', 'nope'], ['channel', '999999'], ['cam', '999999'],
    ['current', '5'], ['camlayer', 'nope'], ['meanv', '1,2']];
  await page.goto('about:blank');
  navigations.length = 0;
  const keys = new Set(misfits.map(([k]) => k));
  const url = `${b.url}#${fragment([['model', model], ...misfits, ...HOSTILE.filter(([k]) => !keys.has(k))])}`;
  await page.goto(url);
  await settled();
  await page.waitForTimeout(300);
  const got = await notices(page);
  console.log(got.join('\n'));
  for (const [key, value] of misfits.filter(([k]) => k !== 'channel')) {
    assert.ok(got.some((n) => n.startsWith(`${key} “${value}”`)), `nothing said about ${key}`);
  }
  assert.deepEqual(await viewState(page), want, 'the view is not the default one');
  const dom = await domState(page);
  assert.deepEqual({ ...dom, tags: { ...dom.tags, 'DIV#notice': 1 } }, { ...clean, tags: { ...clean.tags, 'DIV#notice': 1 }, noticeElements: 0 });
  // The address bar now holds the clean link of what is shown.
  assert.equal(page.url(), `${b.url}#${want.hash.slice(1)}`);
  // Loading the page, then replacing its fragment by the clean link: nothing else.
  assert.ok(navigations.length <= 2 && navigations[0] === url && navigations.at(-1) === page.url(),
    `navigated to ${navigations.map((u) => u.slice(0, 80))}`);

  // The same fields arriving by a fragment change on the loaded page: it stays as it was.
  await page.evaluate((f) => { location.hash = f; }, fragment([['model', 'javascript:window.__pwned=1'], ...HOSTILE]));
  await page.waitForFunction(() => [...document.querySelectorAll('#notice-list li')].some((li) => /no usable model/.test(li.textContent)));
  await page.waitForTimeout(300);
  assert.deepEqual({ ...(await viewState(page)), hash: '' }, { ...want, hash: '' });
  assert.equal((await domState(page)).pwned, null);
  assert.deepEqual(dialogs, []);
  assert.deepEqual(errors, []);
});

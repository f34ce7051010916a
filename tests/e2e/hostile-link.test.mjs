// Hostile links: script tags, quotes, javascript:/data: URLs, huge, negative and NaN numbers, overlong values
// and unknown keys in the fragment (or the query) change nothing and run nothing: no dialog, no navigation,
// no global set by injected script, no page error, no injected element; each ignored field is named in a
// notice. And the page's scripts never use an HTML sink or an eval.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, isFetchNoise, noFixtures, openBrowser, serveModels, shared, viewState } from './helpers.mjs';

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

// Thirty links, each opened on its own: script in every field, quotes, javascript: and other schemes,
// overlong (≥ 100 KB) and huge values, wrong types, in the fragment and the query, with and without a good
// model URL. For each: no dialog, no script ran, no page error, no CSP violation, nothing injected, and the
// page shows its normal state (the good model loaded) or a clear notice or message.
test('30 hostile links: nothing runs, the page shows its normal state or says what it ignored',
  { skip: noFixtures, timeout: 300_000 }, async () => {
    const { page, errors } = b;
    const model = `${models.url}cors/mnist-8.onnx`;
    const fields = ['model', 'weights', 'mean', 'labels', 'usemean', 'image', 'current', 'order', 'meanv', 'scale',
      'resize', 'filters', 'norm', 'pad', 'zoom', 'first', 'count', 'tmode', 'torder', 'maps', 'layer', 'channel', 'at',
      'unit', 'method', 'render', 'lrn', 'cam', 'camlayer'];
    const every = (value, skip = []) => fields.filter((k) => !skip.includes(k)).map((k) => [k, value]);
    // Markup is a valid relative URL: in a file field it is downloaded from the page's site (a 404). With a
    // good model the file fields get values that are no http(s) address.
    const files = ['model', 'weights', 'mean', 'labels', 'image'];
    const badFiles = [['weights', 'javascript:alert(1)'], ['mean', ' javascript:alert(1)'], ['labels', 'data:,x'], ['image', 'local:<script>:x.jpg']];
    const QUOTES = `'"\`;alert(1);//'); window.__pwned = ('"`;
    const big = 'A'.repeat(100_000);
    const huge = [['channel', '1e309'], ['zoom', '99999999999999999999'], ['pad', '-1'], ['first', 'NaN'], ['count', 'Infinity'],
      ['cam', String(Number.MAX_SAFE_INTEGER)], ['scale', '1e999'], ['meanv', '1e308,1e308,1e308'], ['at', '999999,999999'], ['current', '4294967296']];
    const wrong = [['channel', 'abc'], ['at', 'x,y'], ['lrn', 'maybe'], ['usemean', 'yes'], ['current', '[]'], ['cam', '{}'],
      ['scale', '0x10'], ['meanv', 'a,b,c'], ['pad', '1.5'], ['zoom', 'true'], ['order', 'rgb '], ['method', '__proto__']];
    const frag = (pairs) => `${b.url}#${fragment(pairs)}`;
    const query = (pairs) => `${b.url}?${fragment(pairs)}`;
    const links = [
      // Without a usable model.
      ['script in every field', frag(every(SCRIPT))],
      ['img onerror in every field', frag(every(IMG))],
      ['svg onload in every field', frag(every(SVG))],
      ['quotes in every field', frag(every(QUOTES))],
      ['model javascript:', frag([['model', 'javascript:window.__pwned="model"']])],
      ['model JaVaScRiPt: after a newline', frag([['model', '\nJaVaScRiPt:window.__pwned=1'], ['weights', 'javascript:alert(1)']])],
      ['model data:text/html', frag([['model', 'data:text/html,<script>window.__pwned="data"</script>']])],
      ['model vbscript: and file:', frag([['model', 'vbscript:msgbox(1)'], ['mean', 'file:///etc/passwd'], ['labels', 'blob:null/1']])],
      ['image and labels javascript:', frag([['image', 'javascript:window.__pwned=1'], ['labels', 'javascript:alert(1)']])],
      ['overlong value (100 KB)', frag([['layer', big], ['model', `javascript:${big}`]])],
      ['overlong key (100 KB)', frag([[big, '1']])],
      ['huge link (1 MB)', `${b.url}#model=${'B'.repeat(1_000_000)}`],
      ['10,000 image fields', frag(Array.from({ length: 10_000 }, (_, i) => ['image', `javascript:${i}`]))],
      ['huge numbers', frag(huge)],
      ['wrong types', frag(wrong)],
      ['prototype keys', frag([['__proto__', 'x'], ['constructor', 'x'], ['toString', 'x'], ['__proto__[polluted]', '1']])],
      ['broken percent-escapes', `${b.url}#model=%E0%A4%A&layer=%&at=%ZZ%00`],
      ['raw markup in the fragment', `${b.url}#model=<script>window.__pwned=1</script>&layer="><img src=x onerror=alert(1)>`],
      ['script in every query field', query(every(SCRIPT))],
      ['javascript: model in the query', query([['model', 'javascript:window.__pwned=1'], ...HOSTILE.slice(0, 10)])],
      ['overlong query (100 KB)', query([['model', big], ['weights', big]])],
      ['hostile query and fragment', `${query([['model', 'javascript:alert(1)']])}#${fragment(every(IMG))}`],
      ['model URL that answers 404, with markup in it', frag([['model', `${models.url}cors/<script>window.__pwned=1</script>.onnx`]])],
      // With a good model.
      ['good model, script in every other field', frag([['model', model], ...badFiles, ...every(SCRIPT, files)])],
      ['good model, svg and img in every other field', frag([['model', model], ...badFiles, ...every(SVG, [...files, 'layer']), ['layer', IMG]])],
      ['good model, quotes in every other field', frag([['model', model], ...badFiles, ...every(QUOTES, files)])],
      // (A link over 300,000 characters is ignored whole: the values stay under that together.)
      ['good model, overlong values', frag([['model', model], ['layer', big], ['camlayer', big.slice(50_000)], ['image', `local:${big.slice(60_000)}`]])],
      ['good model, huge numbers', frag([['model', model], ...huge])],
      ['good model, wrong types', frag([['model', model], ...wrong, ['weights', 'javascript:alert(1)']])],
      ['good model in the query, hostile fields', query([['model', model], ...HOSTILE])],
    ];
    assert.equal(links.length, 30);
    assert.equal(new Set(links.map(([, url]) => url)).size, 30, 'distinct links');
    await b.open();
    const clean = await domState(page);
    for (const [what, url] of links) {
      await page.goto('about:blank');
      errors.length = 0;
      dialogs.length = 0;
      const good = what.startsWith('good model');
      await page.goto(url);
      // Settled: the model loaded, or an error or a notice is shown and no download or load is under way.
      await page.waitForFunction((good) => {
        const status = document.getElementById('status').textContent;
        if (good) return /^Loaded/.test(status) && location.hash.startsWith('#model=');
        return (!document.getElementById('notice').hidden || !document.getElementById('error').hidden)
          && !/^(Getting|Loading|Reading)/.test(status);
      }, good, { timeout: 30_000 });
      await page.waitForTimeout(200);
      const dom = await domState(page);
      const shown = await page.evaluate(() => ({
        status: document.getElementById('status').textContent,
        error: document.getElementById('error').hidden ? null : document.getElementById('error').textContent,
        notices: [...document.querySelectorAll('#notice-list li')].map((li) => li.textContent),
        violations: globalThis.cspViolations,
      }));
      const summary = shown.error ? `error: ${shown.error.slice(0, 150)}`
        : `${shown.status || '(no status)'}; ${shown.notices.length} notice(s)${shown.notices.length ? `, e.g. ${shown.notices.at(-1).slice(0, 110)}` : ''}`;
      console.log(`${String(url.length).padStart(8)} chars  ${what}: ${summary}`);
      assert.deepEqual(dialogs, [], what);
      assert.equal(dom.pwned, null, `${what}: injected script ran`);
      assert.equal(dom.polluted, null, `${what}: Object.prototype polluted`);
      assert.deepEqual(dom.handlers, clean.handlers, `${what}: inline handlers or script URLs in the DOM`);
      assert.deepEqual(dom.scripts, clean.scripts, `${what}: scripts added`);
      assert.equal(dom.noticeElements, 0, `${what}: markup in a notice`);
      assert.deepEqual(shown.violations, [], `${what}: CSP violations`);
      assert.deepEqual(errors.filter((e) => !isFetchNoise(e)), [], `${what}: page errors`);
      assert.ok(shown.notices.every((n) => n.length < 400), `${what}: an overlong notice`);
      assert.ok(shown.notices.length <= 53, `${what}: ${shown.notices.length} notices`);
      if (good) {
        assert.match(shown.status, /^Loaded mnist-8\.onnx/, what);
        assert.equal(shown.error, null, what);
        assert.ok(await page.isVisible('#filter-canvas'), `${what}: the model's filters are shown`);
        assert.ok(shown.notices.length > 0, `${what}: the ignored fields are named`);
      } else if (shown.error) {
        assert.match(shown.error, /^Could not download the (model|weights|mean file|labels file|image): .*HTTP 404/s, what);
        assert.ok(shown.error.length < 1000, what);
      } else {
        assert.ok(shown.notices.includes('the link names no usable model, so nothing was loaded'), what);
        assert.ok(await page.isHidden('#network-section'), what);
      }
    }
  });

// chat-browser.js - the chat demo's page (modules/chat/static) in headless
// Chromium (Debian's /usr/bin/chromium driven by playwright-core), for
// tests/blackbox/18-chat.py:
//
//   node chat-browser.js URL_A URL_B [poll|ws|sse ...]
//
// For each mode (default all three): two visitors with their own cookies, A
// on URL_A and B on URL_B (two gale instances sharing Redis, or the same
// one), ?ws=1 in ws mode, ?sse=1 in sse mode. A posts through the form, B sees it; B answers, A sees
// it; each message is shown once (A's own message comes back from its post
// and from the stream), as text (markup in it stays text); after a reload B
// has both from the page itself, and the line of who is here names B by
// the name it posted with (a reload is the same visitor, now named). Prints "ok: ..." lines, exits 0; on a
// failure prints why on stderr and exits 1.
'use strict';

const [urlA, urlB] = process.argv.slice(2, 4);
const modes = process.argv.slice(4).length ? process.argv.slice(4) : ['poll', 'ws', 'sse'];
const TIMEOUT = 10000;

const chatPage = require('./chat-page');
const { fail, check, launch } = chatPage;
const visitor = (url, errors) => chatPage.visitor(url, errors, TIMEOUT);

async function post(page, name, text) {
    await page.fill('#name', name);
    await page.fill('#message', text);
    await page.press('#message', 'Enter');
}

// The message with this body, once it is shown: {id, from, count}.
async function shown(page, text) {
    const handle = await page.waitForFunction((text) => {
        const all = [...document.querySelectorAll('#inbox div.message')];
        const el = all.find((m) => m.querySelector('span.body').textContent === text);
        if (!el)
            return null;
        return {
            id: el.dataset.id,
            from: el.querySelector('span.from').textContent,
            count: all.filter((m) => m.dataset.id === el.dataset.id).length,
            markup: document.querySelectorAll('#inbox b, #inbox img, #inbox script').length,
        };
    }, text);
    return handle.jsonValue();
}

async function room(mode) {
    const q = { ws: '/?ws=1', sse: '/?sse=1' }[mode] || '/';
    const errors = [];
    const a = await visitor(urlA + q, errors);
    const b = await visitor(urlB + q, errors);
    const tag = mode + ' ' + Date.now().toString(36);

    const hello = 'hello <b>bold</b> & <img src=x> from A, ' + tag;
    await post(a, 'alice', hello);
    const atB = await shown(b, hello);
    check(atB.from === 'alice' && /^[0-9a-f]{32}$/.test(atB.id), 'B sees A: ' + JSON.stringify(atB));
    check(atB.markup === 0, 'the markup in a message stays text');
    // the form clears when A's POST is answered, which B's copy may beat
    await a.waitForFunction(() => document.querySelector('#message').value === '')
        .catch(() => check(false, 'the form is cleared after posting'));

    const reply = 'reply from B, ' + tag;
    await post(b, 'bob', reply);
    const atA = await shown(a, reply);
    check(atA.from === 'bob', 'A sees B: ' + JSON.stringify(atA));

    // by now A's stream delivered A's own message too: still shown once
    await a.waitForTimeout(300);
    for (const [page, who] of [[a, 'A'], [b, 'B']])
        for (const text of [hello, reply])
            check((await shown(page, text)).count === 1, who + ' shows ' + text + ' once');

    await b.reload();
    await b.waitForSelector('#status[data-state="online"]');
    for (const text of [hello, reply])
        check((await shown(b, text)).count === 1, 'after a reload B has ' + text + ' once');
    const here = await b.waitForFunction(() => {
        const t = document.getElementById('here').textContent;
        return /^\d+ here: .*\bbob\b/.test(t) && t;
    });
    const count = parseInt(await here.jsonValue(), 10);
    check(count >= 2, 'A and B are here: ' + (await here.jsonValue()));

    check(errors.length === 0, 'script errors: ' + errors.join('; '));
    await a.context().close();
    await b.context().close();
    console.log('ok: ' + mode + ': A and B see each other, once each, as text');
}

async function main() {
    const browser = await launch(60000);
    for (const mode of modes)
        await room(mode);
    await browser.close();
    process.exit(0);
}

main().catch((e) => fail(e.stack || String(e)));

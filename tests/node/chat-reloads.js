// chat-reloads.js - the chat demo's page (modules/chat/static) in headless
// Chromium while gale reloads, for tests/blackbox/52-chat-reloads.py:
//
//   node chat-reloads.js URL_A URL_B STOP MODE...
//
// One pair of visitors per MODE (poll, ws or sse), all pairs at once, each
// visitor with its own cookies: A on URL_A and B on URL_B (two gale
// instances sharing Redis). Once the six pages are online it prints
// "ready"; then in every pair the visitors answer each other in turn: each
// message is posted by one once the other's message before it shows in its
// page, so that every message answers the one before (a causal chain),
// until the file STOP exists (the test reloads the instances meanwhile).
// Each message shown to its receiver prints "shown MODE N" (the test waits
// for every pair to get on between two reloads). Then every message must
// show exactly once in both pages of its pair, in the order posted. Prints
// "ok: ..." lines and exits 0; on a failure prints why on stderr and exits 1.
'use strict';

const fs = require('fs');

const [urlA, urlB, stop] = process.argv.slice(2, 5);
const modes = process.argv.slice(5);
const TIMEOUT = 15000;

const chatPage = require('./chat-page');
const { fail, check, launch } = chatPage;
const visitor = (url, errors) => chatPage.visitor(url, errors, TIMEOUT);

// Post text; throws when the page says it was not sent.
async function post(page, name, text) {
    await page.fill('#name', name);
    await page.fill('#message', text);
    await page.press('#message', 'Enter');
    const state = await page.waitForFunction(() => {
        const error = document.getElementById('error');
        if (!error.hidden && error.textContent)
            return 'error: ' + error.textContent;
        return document.getElementById('message').value === '' && 'sent';
    });
    const how = await state.jsonValue();
    check(how === 'sent', name + ' posting "' + text + '": ' + how);
}

// The bodies shown that carry the tag, in the page's order.
async function bodies(page, tag) {
    return page.evaluate((tag) => [...document.querySelectorAll('#inbox div.message span.body')]
        .map((b) => b.textContent).filter((t) => t.endsWith(tag)), tag);
}

async function shows(page, text, what) {
    try {
        await page.waitForFunction((text) => [...document.querySelectorAll('#inbox span.body')]
            .some((b) => b.textContent === text), text);
    } catch (e) {
        const status = await page.evaluate(() => document.getElementById('status').textContent);
        throw new Error(what + ' does not show "' + text + '" (' + e.message.split('\n')[0] +
                        '; the page says "' + status + '")');
    }
}

async function pair(mode) {
    const q = { ws: '/?ws=1', sse: '/?sse=1' }[mode] || '/';
    const errors = [];
    const [a, b] = await Promise.all([visitor(urlA + q, errors), visitor(urlB + q, errors)]);
    return { mode, a, b, errors, sent: [], tag: ' #' + mode + Date.now().toString(36) };
}

// The visitors of p answer each other until the test says stop.
async function talk(p) {
    const t0 = Date.now();
    for (let i = 0; i < 4 || !fs.existsSync(stop); i++) {
        const [from, to, name] = i % 2 ? [p.b, p.a, 'bob'] : [p.a, p.b, 'alice'];
        const text = 'm' + i + p.tag;
        try {
            await post(from, name, text);
            p.sent.push(text);
            await shows(to, text, name === 'bob' ? 'A' : 'B');
        } catch (e) {
            // lost on the way in, or on the way out to the other page?
            const mine = (await bodies(from, p.tag).catch(() => [])).includes(text);
            throw new Error(p.mode + ': ' + e.message + (mine ? '; the poster\'s page shows it'
                                                              : '; nor does the poster\'s page'));
        }
        console.log('shown ' + p.mode + ' ' + (i + 1) +
                    (process.env.CHAT_TRACE ? ' ' + (Date.now() - t0) + ' ms' : ''));
        check(i < 1000, 'the test never said stop');
    }
}

async function verify(p) {
    for (const [page, who] of [[p.a, 'A'], [p.b, 'B']]) {
        await shows(page, p.sent[p.sent.length - 1], p.mode + ': ' + who);
        const got = await bodies(page, p.tag);
        check(JSON.stringify(got) === JSON.stringify(p.sent),
              p.mode + ': ' + who + ' shows each message once, in the order posted: ' +
              JSON.stringify(got.map((t) => t.split(' ')[0])));
    }
    check(p.errors.length === 0, p.mode + ': script errors: ' + p.errors.join('; '));
    console.log('ok: ' + p.mode + ': ' + p.sent.length + ' messages, each shown once, in causal ' +
                'order, in both pages');
}

async function main() {
    const browser = await launch(100000);
    const pairs = await Promise.all(modes.map(pair));
    console.log('ready');
    await Promise.all(pairs.map(talk));
    for (const p of pairs)
        await verify(p);
    await browser.close();
    process.exit(0);
}

main().catch((e) => fail(e.stack || String(e)));

// h2-ws-browser.js - a WebSocket from headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core) to a gale TLS listener with
// a self-signed certificate, for tests/blackbox/39-h2-websocket.py:
//
//   node h2-ws-browser.js BASE_URL
//
// Loads BASE_URL + "/" (over HTTP/2 by ALPN), then opens
// wss://.../ws from the page, sends two messages and waits for their
// echoes, then closes it. Chromium carries the socket on the page's HTTP/2
// connection when the server advertises SETTINGS_ENABLE_CONNECT_PROTOCOL
// (RFC 8441); the test reads gale's access log to see which it did. Prints
// "ok: ..." lines, exits 0; on a failure prints why on stderr and exits 1.
'use strict';

const { launch, run } = require('./browser');

const base = process.argv[2];
async function main() {
    const browser = await launch(['--ignore-certificate-errors']);
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    page.setDefaultTimeout(10000);
    const res = await page.goto(base + '/');
    console.log('ok: page ' + res.status());
    const got = await page.evaluate((url) => new Promise((resolve, reject) => {
        const ws = new WebSocket(url);
        const echoes = [];
        ws.onopen = () => { ws.send('first over h2'); ws.send('second'); };
        ws.onmessage = (e) => {
            echoes.push(e.data);
            if (echoes.length === 2)
                ws.close(1000, 'done');
        };
        ws.onclose = (e) => resolve({ echoes, code: e.code });
        ws.onerror = () => reject(new Error('WebSocket error'));
        setTimeout(() => reject(new Error('no echo in time: ' + JSON.stringify(echoes))), 8000);
    }), base.replace(/^http/, 'ws') + '/ws');
    if (got.echoes.join('|') !== 'first over h2|second' || got.code !== 1000)
        throw new Error('echoes ' + JSON.stringify(got));
    console.log('ok: echoes ' + got.echoes.join('|') + ', close ' + got.code);
}

run(main);

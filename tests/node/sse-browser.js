// sse-browser.js - a browser's EventSource on a gale Server-Sent Events
// route, in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core), for tests/blackbox/32-channels.py:
//
//   node sse-browser.js PAGE_URL EVENTS_PATH COUNT
//
// Opens PAGE_URL (any page of the server: same origin), then an EventSource
// on EVENTS_PATH; prints "READY" once it is open, then, once COUNT events
// came (or after a minute), one line of JSON: {"events": [[lastEventId,
// data], ...], "opens": number of times the stream opened}. The test
// publishes and reloads gale meanwhile.
'use strict';

const { launch, run } = require('./browser');

const [pageUrl, eventsPath, count] = [process.argv[2], process.argv[3], +process.argv[4]];

run(async () => {
    const browser = await launch();
    const page = await browser.newPage();
    await page.goto(pageUrl);
    await page.evaluate((path) => {
        window.got = [];
        window.opens = 0;
        const es = new EventSource(path);
        es.onopen = () => { window.opens++; };
        es.onmessage = (e) => { window.got.push([e.lastEventId, e.data]); };
    }, eventsPath);
    await page.waitForFunction(() => window.opens > 0, null, { timeout: 10000 });
    // the stream's first position (an id with no event) follows the open
    await new Promise((r) => setTimeout(r, 300));
    console.log('READY');
    await page.waitForFunction((n) => window.got.length >= n, count, { timeout: 60000 })
        .catch(() => {});
    const out = await page.evaluate(() => ({ events: window.got, opens: window.opens }));
    console.log(JSON.stringify(out));
});

// chat-page.js - what the chat demo's browser scripts share (chat-browser.js,
// chat-reloads.js): headless Chromium (Debian's /usr/bin/chromium, or
// $CHROMIUM), a visitor's page once the chat says it is online, failing
// with a reason, and a bound on the whole script.
'use strict';

const { chromium } = require('playwright-core');

let browser = null;

// Print why on stderr, close the browser, exit 1.
async function fail(msg) {
    console.error('FAIL: ' + msg);
    if (browser)
        await browser.close().catch(() => {});
    process.exit(1);
}

function check(cond, msg) {
    if (!cond)
        throw new Error(msg);
}

// Launch the browser; the script fails if it is not over within `bound` ms.
async function launch(bound) {
    setTimeout(() => fail('the whole script took more than ' + bound / 1000 + ' s'), bound).unref();
    browser = await chromium.launch({
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
               '--disable-background-networking'],
    });
    return browser;
}

// A visitor with its own cookies on url, once its chat is online; script
// errors of the page go to `errors`.
async function visitor(url, errors, timeout) {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(timeout);
    page.on('pageerror', (e) => errors.push(url + ': ' + e.message));
    await page.goto(url);
    await page.waitForSelector('#status[data-state="online"]');
    return page;
}

module.exports = { fail, check, launch, visitor };

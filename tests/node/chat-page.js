// chat-page.js - what the chat demo's browser scripts share (chat-browser.js,
// chat-reloads.js): the browser of browser.js, a visitor's page once the
// chat says it is online, failing with a reason, and a bound on the whole
// script.
'use strict';

const common = require('./browser');
const { fail, check } = common;

let browser = null;

// Launch the browser; the script fails if it is not over within `bound` ms.
async function launch(bound) {
    browser = await common.launch([], bound);
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

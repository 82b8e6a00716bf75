// browser.js - what the browser scripts share: headless Chromium (Debian's
// /usr/bin/chromium, or $CHROMIUM) driven by playwright-core, a check that
// throws, and the end of a script: the browser closed in every case, and
// on a failure its reason on stderr and exit status 1.
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

// Launch the browser, with `args` beside the usual flags; with `bound`
// (ms), the script fails if it is not over by then.
async function launch(args = [], bound = 0) {
    if (bound)
        setTimeout(() => fail('the whole script took more than ' + bound / 1000 + ' s'),
                   bound).unref();
    browser = await chromium.launch({
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
               '--disable-background-networking', ...args],
    });
    return browser;
}

// Run the script's async main, then close the browser; an error thrown
// fails the script with its message.
function run(main) {
    main().then(async () => {
        if (browser)
            await browser.close();
    }).catch((e) => fail(e.message));
}

module.exports = { fail, check, launch, run };

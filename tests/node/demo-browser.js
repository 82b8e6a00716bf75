// demo-browser.js - the demo pages (www/templates, www/static, the hello and
// notes modules) in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core), for tests/blackbox/26-demos.py:
//
//   node demo-browser.js URL SHOTS_DIR
//
// The home page with its stylesheet applied, the language switch (English,
// Spanish) kept in a cookie, the notes app as a visitor uses it: sign up,
// write a note of several lines, edit it, delete it, each saying so once
// (a flash message); a wrong password said in the form itself; a phone's
// width without sideways scrolling. Takes a screenshot of each page into
// SHOTS_DIR. Prints "ok: ..." lines, exits 0; on a failure prints why on
// stderr and exits 1.
'use strict';

const path = require('path');
const { check, launch, run } = require('./browser');

const [base, shots] = process.argv.slice(2, 4);
const TIMEOUT = 10000;

async function shot(page, name) {
    await page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true });
}

async function text(page, selector) {
    return (await page.textContent(selector)).trim();
}

// The page's stylesheet is loaded and applied: the bar is a flex row, the
// main column is bounded.
async function styled(page) {
    return page.evaluate(() => {
        const bar = document.querySelector('header.bar');
        const main = document.querySelector('main');
        return bar && getComputedStyle(bar).display === 'flex' &&
            getComputedStyle(main).maxWidth !== 'none';
    });
}

async function home(page) {
    const answer = await page.goto(base + '/');
    check(answer.status() === 200, 'home: ' + answer.status());
    check(answer.headers()['content-type'].startsWith('text/html'), 'home is HTML');
    check((await text(page, 'h1')) === 'Hello, world', 'the greeting: ' + (await text(page, 'h1')));
    check(await styled(page), 'the stylesheet is applied on the home page');
    const links = await page.$$eval('.cards a', (as) => as.map((a) => a.getAttribute('href')));
    check(links.includes('/notes') && links.includes('/chat/'), 'links to the demos: ' + links);
    await shot(page, 'home-en');
    console.log('ok: the home page, styled, with its demos');

    await page.click('form.lang button[value="es"]');
    await page.waitForSelector('html[lang="es"]');
    check((await text(page, 'main h2')) === 'Demostraciones', 'Spanish: ' + (await text(page, 'main h2')));
    await shot(page, 'home-es');
    await page.goto(base + '/');
    check((await page.getAttribute('html', 'lang')) === 'es', 'the language is remembered');
    await page.click('form.lang button[value="en_US"]');
    await page.waitForSelector('html[lang="en"]');
    console.log('ok: the language switch, remembered in a cookie');
}

async function flash(page, said) {
    const got = await text(page, '.flash');
    check(got === said, 'flash "' + said + '": ' + got);
}

async function notes(page) {
    await page.goto(base + '/notes');
    check(page.url().includes('/login?next='), 'the notes ask for a login: ' + page.url());
    await page.click('a[href="/signup"]');
    const user = 'ann' + Date.now().toString(36);
    await page.fill('input[name="user"]', user);
    await page.fill('input[name="password"]', 'correct horse');
    await page.click('main form button');
    await page.waitForURL(/\/notes$/);
    check(await styled(page), 'the stylesheet is applied on the notes page');
    check((await text(page, '.empty')) === 'No notes yet.', 'an empty list');
    console.log('ok: signed up');

    const note = 'first line <b>not bold</b>\nsecond line';
    await page.fill('textarea[name="text"]', note);
    await page.click('form[action="/notes/add"] button');
    await page.waitForSelector('.flash');
    await flash(page, 'Note added.');
    check((await page.innerText('.note .text')) === note, 'the note, lines kept: ' +
        JSON.stringify(await page.innerText('.note .text')));
    check((await page.$$('.note .text b')).length === 0, 'markup in a note stays text');
    await shot(page, 'notes');
    await page.reload();
    check((await page.$$('.flash')).length === 0, 'a flash message is said once');
    console.log('ok: a note of two lines');

    await page.click('.note a');
    await page.waitForURL(/\/notes\/edit\?id=/);
    await page.fill('textarea[name="text"]', 'changed\nagain');
    await shot(page, 'edit');
    await page.click('main form button');
    await page.waitForURL(/\/notes$/);
    await flash(page, 'Note saved.');
    check((await page.innerText('.note .text')) === 'changed\nagain', 'the edited note');
    console.log('ok: edited');

    await page.click('.note form button');
    await page.waitForSelector('.empty');
    await flash(page, 'Note deleted.');
    console.log('ok: deleted');

    await page.click('form[action="/logout"] button');
    await page.waitForURL(/\/login$/);
    await page.fill('input[name="user"]', user);
    await page.fill('input[name="password"]', 'wrong password');
    await page.click('main form button');
    await page.waitForSelector('.error');
    check((await text(page, '.error')) === 'Wrong name or password.', 'the mistake said in place');
    check((await page.inputValue('input[name="user"]')) === user, 'the name is kept');
    check((await page.$$('input[name="password"]')).length === 1, 'the form is there again');
    await shot(page, 'login-error');
    console.log('ok: a wrong password said in the form');

    await page.click('form.lang button[value="es"]');
    await page.waitForSelector('html[lang="es"]');
    check((await text(page, 'h1')) === 'Iniciar sesión', 'the login page in Spanish: ' + (await text(page, 'h1')));
    await shot(page, 'login-es');
    console.log('ok: the notes pages in Spanish');
}

async function phone(context) {
    const page = await context.newPage();
    await page.setViewportSize({ width: 360, height: 740 });
    for (const where of ['/', '/login']) {
        await page.goto(base + where);
        const wide = await page.evaluate(() => document.documentElement.scrollWidth);
        check(wide <= 360, where + ' scrolls sideways on a phone: ' + wide);
    }
    await shot(page, 'phone');
    console.log('ok: fits a phone');
}

run(async () => {
    const browser = await launch();
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // A page answered 403 or 400 on purpose (a form with its mistake) is
    // logged by Chromium as a failed load: only the pages' own errors and
    // their parts (stylesheet, icons) that fail count.
    page.on('console', (m) => {
        if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
            errors.push(m.text());
    });
    page.on('response', (r) => {
        if (r.request().resourceType() !== 'document' && r.status() >= 400)
            errors.push(r.url() + ': ' + r.status());
    });
    await home(page);
    await notes(page);
    await phone(context);
    check(errors.length === 0, 'errors in the pages: ' + errors.join('; '));
});

// login-browser.js - logins through the login module (modules/login) in
// headless Chromium (Debian's /usr/bin/chromium driven by playwright-core),
// clicking through the mock providers of tests/blackbox/34-login.py:
//
//   node login-browser.js GALE_URL DEMO_URL
//
// "Log in with" GitHub-like OAuth 2.0, OpenID Connect and OAuth 1.0a: the
// browser is sent to the provider's page, the test clicks "Allow", and the
// browser comes back logged in (hello.so's /whoami names the user); the
// login cookie is gone and the session cookie is HttpOnly. A denied login
// ends on the "Login failed" page, logged out. Then the notes demo
// (conf/notes.conf at DEMO_URL): its "Log in with the demo provider" button,
// a name typed on the demo provider's page, and the notes page of that
// user. Prints "ok: ..." lines,
// exits 0; on a failure prints why on stderr and exits 1.
'use strict';

const { check, launch, run } = require('./browser');

const [base, demo] = process.argv.slice(2, 4);
const TIMEOUT = 10000;

// Start a login with provider, click `button` on its page: the page we end on.
async function loginWith(page, provider, button) {
    await page.goto(base + '/auth/' + provider);
    check(!page.url().startsWith(base), provider + ': sent to the provider: ' + page.url());
    const [answer] = await Promise.all([
        page.waitForNavigation({ url: (u) => u.toString().startsWith(base) }),
        page.click(button),
    ]);
    return answer;
}

async function whoami(page) {
    await page.goto(base + '/whoami');
    return (await page.textContent('body')).split('\n')[0];
}

async function logins(context, page) {
    const want = { gh: 'gh:alice', oidc: 'id:oidc-user-7', tw: 'tw:alice_tw' };
    for (const provider of Object.keys(want)) {
        const answer = await loginWith(page, provider, '#allow');
        check(answer.status() === 200, provider + ': the page after the login: ' + answer.status());
        const user = (await page.textContent('body')).split('\n')[0];
        check(user === 'user: ' + want[provider], provider + ': logged in as ' + user);
        const cookies = await context.cookies(base);
        check(!cookies.some((c) => c.name === 'gale_login'), 'the login cookie is cleared');
        const session = cookies.find((c) => c.name === 'gale_session');
        check(session && session.httpOnly, 'an HttpOnly session cookie: ' + JSON.stringify(cookies));
        console.log('ok: logged in with ' + provider + ' as ' + want[provider]);
        await page.goto(base + '/logout');
        check((await whoami(page)) === 'user: -', provider + ': logged out');
    }
}

async function denied(page) {
    const answer = await loginWith(page, 'gh', '#deny');
    check(answer.status() === 403, 'a denied login: ' + answer.status());
    check((await page.textContent('h1')) === 'Login failed', 'the login-failed page');
    check((await whoami(page)) === 'user: -', 'nobody is logged in after a denied login');
    console.log('ok: a denied login ends on the login-failed page');
}

// The notes demo's button, the demo provider's form, the user's notes.
async function notesDemo(page) {
    await page.goto(demo + '/login');
    await page.click('form.login-with button');
    check((await page.textContent('h1')) === 'Demo login provider', 'the demo provider: ' + page.url());
    await page.fill('input[name="name"]', 'carol');
    await Promise.all([page.waitForURL(demo + '/notes'), page.click('#allow')]);
    check((await page.textContent('.who')) === 'demo:carol', 'the notes of demo:carol');
    console.log('ok: the notes demo, logged in with the demo provider');
}

run(async () => {
    const browser = await launch();
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    await logins(context, page);
    await denied(page);
    await notesDemo(page);
});

// media-seek.js - an audio file from a static folder played and sought in
// headless Chromium (Debian's /usr/bin/chromium driven by playwright-core),
// for tests/blackbox/21-static.py:
//
//   node media-seek.js PAGE_URL SECONDS
//
// PAGE_URL is a page with <audio id="a" src=...> of SECONDS seconds. The
// player learns the duration, seeks near the end and can play from there:
// the server answered its byte ranges. Prints "ok: ..." lines, exits 0; on
// a failure prints why on stderr and exits 1.
'use strict';

const { check, launch, run } = require('./browser');

const [url, seconds] = process.argv.slice(2, 4);
run(async () => {
    const browser = await launch(['--autoplay-policy=no-user-gesture-required']);
    const page = await browser.newPage();
    page.setDefaultTimeout(15000);
    await page.goto(url);
    const duration = await page.evaluate(() => new Promise((resolve, reject) => {
        const a = document.getElementById('a');
        if (a.readyState >= 1)
            return resolve(a.duration);
        a.addEventListener('loadedmetadata', () => resolve(a.duration));
        a.addEventListener('error', () => reject(new Error('media error ' + (a.error && a.error.code))));
    }));
    check(Math.abs(duration - Number(seconds)) < 0.5, 'duration ' + duration + ', not ' + seconds);
    console.log('ok: the duration, ' + duration.toFixed(2) + ' s');
    const at = Number(seconds) - 3;
    const state = await page.evaluate((at) => new Promise((resolve, reject) => {
        const a = document.getElementById('a');
        a.addEventListener('seeked', () => {
            const ranges = [];
            for (let i = 0; i < a.buffered.length; i++)
                ranges.push([a.buffered.start(i), a.buffered.end(i)]);
            resolve({ time: a.currentTime, seekable: a.seekable.length ? a.seekable.end(0) : 0,
                      ranges, ready: a.readyState });
        }, { once: true });
        a.addEventListener('error', () => reject(new Error('media error ' + (a.error && a.error.code))));
        a.currentTime = at;
    }), at);
    check(Math.abs(state.time - at) < 0.5, 'sought to ' + at + ': ' + JSON.stringify(state));
    check(state.seekable >= Number(seconds) - 0.5, 'seekable to the end: ' + JSON.stringify(state));
    console.log('ok: sought to ' + state.time.toFixed(2) + ' s, buffered ' + JSON.stringify(state.ranges));
});

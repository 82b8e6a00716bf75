// video-seek.js - a video from a static folder played and sought in headless
// Chromium (Debian's /usr/bin/chromium driven by playwright-core), for
// tests/blackbox/51-video-seek.py:
//
//   node video-seek.js BASE_URL FILE SECONDS [BASE_URL...]
//
// The video is made here, with nothing but the browser: frames drawn on a
// canvas are encoded to VP8 by WebCodecs (VideoEncoder) in a page of
// BASE_URL (blank.html; a secure context: loopback), and written to FILE as a WebM with
// its duration and cues (the muxer below: MediaRecorder's WebM has neither,
// and a player cannot seek in it). Then BASE_URL/player.html (a <video
// id="v" src=...> of that file) learns the duration, seeks to the middle
// and plays on from there; then the same from each further BASE_URL (the
// same folder through another listener: https with a self-signed
// certificate, HTTP/2 by ALPN). Prints "ok: ..." lines, exits 0; on a
// failure prints why on stderr and exits 1.
'use strict';

const fs = require('fs');
const { check, launch, run } = require('./browser');

const [base, file, seconds, ...others] = process.argv.slice(2);
const FPS = 25, WIDTH = 320, HEIGHT = 240;
let context = null;

// ---- WebM (Matroska's EBML) -------------------------------------------------

// An element: its ID's bytes, an 8-byte size, the payload.
function el(id, ...payload) {
    const body = Buffer.concat(payload.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));
    const size = Buffer.alloc(8);
    size.writeBigUInt64BE(BigInt(body.length));
    size[0] = 0x01; // the length marker of an 8-byte size (sizes stay far below 2^56)
    return Buffer.concat([Buffer.from(id), size, body]);
}

function uint(id, v) { // 8 bytes whatever the value: sizes are known in advance
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(v));
    return el(id, b);
}

function float(id, v) {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(v);
    return el(id, b);
}

function str(id, s) {
    return el(id, Buffer.from(s, 'ascii'));
}

// chunks: [{ key, ms, data }] in order. A cluster per key frame, and a cue
// for each, placed before the clusters so that a player has them at once.
function webm(chunks, durationMs) {
    const header = el([0x1a, 0x45, 0xdf, 0xa3], uint([0x42, 0x86], 1), uint([0x42, 0xf7], 1),
                      uint([0x42, 0xf2], 4), uint([0x42, 0xf3], 8), str([0x42, 0x82], 'webm'),
                      uint([0x42, 0x87], 2), uint([0x42, 0x85], 2));
    const info = el([0x15, 0x49, 0xa9, 0x66], uint([0x2a, 0xd7, 0xb1], 1000000), // ms ticks
                    float([0x44, 0x89], durationMs), str([0x4d, 0x80], 'gale-test'),
                    str([0x57, 0x41], 'gale-test'));
    const tracks = el([0x16, 0x54, 0xae, 0x6b],
                      el([0xae], uint([0xd7], 1), uint([0x73, 0xc5], 1), uint([0x83], 1),
                         str([0x86], 'V_VP8'), uint([0x9c], 0),
                         el([0xe0], uint([0xb0], WIDTH), uint([0xba], HEIGHT))));
    const clusters = [];
    for (const c of chunks) {
        if (c.key || !clusters.length)
            clusters.push({ ms: c.ms, blocks: [] });
        const cl = clusters[clusters.length - 1];
        const head = Buffer.alloc(4);
        head[0] = 0x81; // track 1
        head.writeInt16BE(c.ms - cl.ms, 1);
        head[3] = c.key ? 0x80 : 0;
        cl.blocks.push(el([0xa3], head, c.data));
    }
    const bodies = clusters.map((cl) => el([0x1f, 0x43, 0xb6, 0x75], uint([0xe7], cl.ms),
                                          ...cl.blocks));
    const cues = (positions) => el([0x1c, 0x53, 0xbb, 0x6b], ...clusters.map((cl, i) =>
        el([0xbb], uint([0xb3], cl.ms),
           el([0xb7], uint([0xf7], 1), uint([0xf1], positions[i])))));
    // a cluster's position counts from the start of the segment's payload
    let at = info.length + tracks.length + cues(clusters.map(() => 0)).length;
    const positions = bodies.map((b) => { const p = at; at += b.length; return p; });
    const segment = el([0x18, 0x53, 0x80, 0x67], info, tracks, cues(positions), ...bodies);
    return Buffer.concat([header, segment]);
}

// ---- in the page --------------------------------------------------------------

// Runs in Chromium: noise frames (they compress badly: a file of some
// megabytes, so that the player fetches the middle by a range) with a
// moving bar, encoded to VP8, a key frame each second. Returns the chunks
// with their data in base64.
async function encode({ seconds, fps, width, height }) {
    const chunks = [];
    let failure = null;
    const enc = new VideoEncoder({
        output: (c) => {
            const data = new Uint8Array(c.byteLength);
            c.copyTo(data);
            let bin = '';
            for (let i = 0; i < data.length; i += 0x8000)
                bin += String.fromCharCode.apply(null, data.subarray(i, i + 0x8000));
            chunks.push({ key: c.type === 'key', ms: Math.round(c.timestamp / 1000),
                          data: btoa(bin) });
        },
        error: (e) => { failure = e; },
    });
    enc.configure({ codec: 'vp8', width, height, bitrate: 6000000, framerate: fps,
                    latencyMode: 'quality' });
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d');
    const img = ctx.createImageData(width, height);
    const words = new Uint32Array(img.data.buffer);
    let seed = 12345;
    for (let n = 0; n < seconds * fps; n++) {
        for (let i = 0; i < words.length; i++) {
            seed = (seed * 1103515245 + 12345) >>> 0;
            words[i] = seed | 0xff000000;
        }
        ctx.putImageData(img, 0, 0);
        ctx.fillStyle = '#fff';
        ctx.fillRect((n * 4) % width, 0, 16, height);
        const frame = new VideoFrame(canvas, { timestamp: Math.round(n * 1e6 / fps) });
        enc.encode(frame, { keyFrame: n % fps === 0 });
        frame.close();
        if (enc.encodeQueueSize > 8)
            await new Promise((r) => setTimeout(r, 5));
    }
    await enc.flush();
    enc.close();
    if (failure)
        throw failure;
    return chunks;
}

// Play BASE_URL/player.html: the duration, a seek to the middle, frames after it.
async function play(at, secs) {
    const page = await context.newPage();
    page.setDefaultTimeout(20000);
    await page.goto(at + 'player.html');
    const meta = await page.evaluate(() => new Promise((resolve, reject) => {
        const v = document.getElementById('v');
        const done = () => resolve({ duration: v.duration, w: v.videoWidth, h: v.videoHeight });
        if (v.readyState >= 1)
            return done();
        v.addEventListener('loadedmetadata', done);
        v.addEventListener('error', () => reject(new Error('media error ' + (v.error && v.error.code))));
    }));
    check(Math.abs(meta.duration - secs) < 0.5, 'duration ' + meta.duration + ', not ' + secs);
    check(meta.w === WIDTH && meta.h === HEIGHT, 'the size: ' + JSON.stringify(meta));
    console.log('ok: ' + at + ': the duration, ' + meta.duration.toFixed(2) + ' s, ' + meta.w + 'x' +
                meta.h);
    const mid = secs / 2;
    const state = await page.evaluate((to) => new Promise((resolve, reject) => {
        const v = document.getElementById('v');
        v.addEventListener('error', () => reject(new Error('media error ' + (v.error && v.error.code))));
        v.addEventListener('seeked', () => {
            // play on from there: frames after the seek are decoded and shown
            v.play().catch(reject);
            const tick = () => {
                if (v.currentTime >= to + 0.5) {
                    v.pause();
                    const q = v.getVideoPlaybackQuality();
                    resolve({ time: v.currentTime, error: v.error, frames: q.totalVideoFrames,
                              ready: v.readyState });
                } else {
                    setTimeout(tick, 50);
                }
            };
            tick();
        }, { once: true });
        v.currentTime = to;
    }), mid);
    check(state.time >= mid + 0.5 && state.time < secs, 'played on from ' + mid + ': ' +
          JSON.stringify(state));
    check(state.error === null && state.frames > 0, 'frames shown: ' + JSON.stringify(state));
    console.log('ok: sought to ' + mid + ' s and played to ' + state.time.toFixed(2) + ' s, ' +
                state.frames + ' frames');
    await page.close();
}

// ---- the test -----------------------------------------------------------------

run(async () => {
    const browser = await launch(['--autoplay-policy=no-user-gesture-required']);
    context = await browser.newContext({ ignoreHTTPSErrors: true }); // a test certificate
    const page = await context.newPage();
    page.setDefaultTimeout(20000);
    await page.goto(base + 'blank.html'); // an origin for WebCodecs (loopback: secure)
    const secs = Number(seconds);
    const chunks = await page.evaluate(encode, { seconds: secs, fps: FPS, width: WIDTH,
                                                 height: HEIGHT });
    check(chunks.length === secs * FPS, chunks.length + ' chunks for ' + secs * FPS + ' frames');
    const data = webm(chunks.map((c) => ({ key: c.key, ms: c.ms,
                                           data: Buffer.from(c.data, 'base64') })),
                      secs * 1000);
    fs.writeFileSync(file, data, { mode: 0o644 });
    console.log('ok: made ' + file + ', ' + data.length + ' bytes, ' +
                chunks.filter((c) => c.key).length + ' key frames');

    for (const at of [base, ...others])
        await play(at, secs);
});

// ws-client.js - one WebSocket client (the npm `ws` package) driven by a
// script of steps, for gale's black-box tests (tests/blackbox/16-websocket.py).
//
//   node ws-client.js < job.json
//
// job: {"url": "ws://...", "options": {ws client options}, "steps": [...],
//       "timeout": ms for the whole job (default 30000)}
//
// It prints one JSON object a line, as things happen (a test can read them
// while the client runs):
//   {"ev": "upgrade", "status": 101, "headers": {...}, "extensions": "..."}
//   {"ev": "open"}
//   {"ev": "unexpected-response", "status": N, "headers": {...}, "body": "..."}
//   {"ev": "message", "binary": b, "len": N, "sha256": hex, "text": s | "hex": h}
//     (text or hex only for messages up to 4096 bytes)
//   {"ev": "ping" | "pong", "data": text}
//   {"ev": "close", "code": N, "reason": s}
//   {"ev": "error", "message": s}
//   {"ev": "step", "i": N, ...}: a step's result (for gen: len and sha256)
//   {"ev": "done"} or {"ev": "fail", "message": s} (exit status 1)
// A refused handshake (unexpected-response or error before open) skips the
// steps: the job ends with "done".
//
// Steps (run in order; waits consume the first queued event of their kind):
//   {"send": "text"}                 text message ("binary": true: as bytes;
//                                    "fin": false: a fragment, the next send
//                                    continues it; "encoding": "hex" etc.
//                                    for bytes)
//   {"send_hex": "c328"}             these bytes as a text message (so bad
//                                    UTF-8 can be sent); "binary", "fin" too
//   {"gen": N, "kind": "random" | "x" | "words" | "utf8", "binary": b}
//                                    a generated N-byte message (utf8: N
//                                    characters of mixed widths)
//   {"ping": "data"}                 a ping
//   {"expect": "message" | "ping" | "pong" | "close" | "open", "timeout": ms}
//   {"messages": N, "timeout": ms}   wait for N messages (one step result,
//                                    with their lengths and hashes)
//   {"close": code, "reason": s}     start the closing handshake (no code: none)
//   {"sleep": ms}
//   {"terminate": true}              drop the TCP connection
//   {"print": "marker"}              print {"ev": "mark", "mark": marker}
//   {"stdin": true}                  wait for a line on stdin before going on
//                                    (after the job's own JSON line)
// When the job's timeout passes the client prints "fail" and exits 1.
'use strict';

const WebSocket = require('ws');
const crypto = require('crypto');
const readline = require('readline');

function out(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

function sha256(buf) {
    return crypto.createHash('sha256').update(buf).digest('hex');
}

const WORDS = 'the quick brown fox jumps over the lazy dog while gale serves websockets '.repeat(4);

// Deterministic pseudo-random bytes (xorshift), so a test can regenerate them.
function generate(n, kind) {
    if (kind === 'random')
        return crypto.randomBytes(n);
    if (kind === 'x')
        return Buffer.alloc(n, 'x');
    if (kind === 'words') {
        const b = Buffer.alloc(n);
        for (let i = 0; i < n; i += WORDS.length)
            b.write(WORDS, i, Math.min(WORDS.length, n - i), 'latin1');
        return b;
    }
    if (kind === 'utf8') {
        const chars = ['a', 'é', '中', '😀', 'z', 'ß', '€'];
        let s = '';
        for (let i = 0; i < n; i++)
            s += chars[(i * 7 + (i >> 3)) % chars.length];
        return Buffer.from(s, 'utf8');
    }
    throw new Error('unknown kind ' + kind);
}

function lineReader() {
    const rl = readline.createInterface({input: process.stdin});
    const lines = [];
    const waiters = [];
    rl.on('line', (l) => (waiters.length ? waiters.shift()(l) : lines.push(l)));
    return () => new Promise((resolve) => (lines.length ? resolve(lines.shift()) : waiters.push(resolve)));
}

async function main() {
    const nextLine = lineReader();
    const job = JSON.parse(await nextLine());
    const timer = setTimeout(() => {
        out({ev: 'fail', message: 'job timeout'});
        process.exit(1);
    }, job.timeout || 30000);

    const queue = [];
    let wake = null;
    const push = (e) => {
        queue.push(e);
        if (wake)
            wake();
    };
    const opts = Object.assign({handshakeTimeout: 5000}, job.options || {});
    const ws = new WebSocket(job.url, job.protocols || [], opts);
    ws.binaryType = 'nodebuffer';
    ws.on('upgrade', (res) => {
        out({ev: 'upgrade', status: res.statusCode, headers: res.headers});
    });
    ws.on('unexpected-response', (req, res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => {
            const e = {ev: 'unexpected-response', status: res.statusCode, headers: res.headers, body};
            out(e);
            push(e);
            req.destroy();
        });
    });
    ws.on('open', () => {
        const e = {ev: 'open', extensions: ws.extensions, protocol: ws.protocol};
        out(e);
        push(e);
    });
    ws.on('message', (data, isBinary) => {
        const e = {ev: 'message', binary: isBinary, len: data.length, sha256: sha256(data)};
        if (data.length <= 4096) {
            if (isBinary)
                e.hex = data.toString('hex');
            else
                e.text = data.toString('utf8');
        }
        out(e);
        push(e);
    });
    for (const kind of ['ping', 'pong']) {
        ws.on(kind, (data) => {
            const e = {ev: kind, data: data.toString('utf8')};
            out(e);
            push(e);
        });
    }
    ws.on('close', (code, reason) => {
        const e = {ev: 'close', code, reason: reason.toString('utf8')};
        out(e);
        push(e);
    });
    ws.on('error', (err) => {
        const e = {ev: 'error', message: String(err && err.message)};
        out(e);
        push(e);
    });

    // The first queued event of `kind` (removed), waiting up to ms; kind may
    // be a list of kinds.
    async function take(kind, ms) {
        const end = Date.now() + (ms || 5000);
        const kinds = Array.isArray(kind) ? kind : [kind];
        for (;;) {
            const i = queue.findIndex((e) => kinds.includes(e.ev));
            if (i >= 0)
                return queue.splice(i, 1)[0];
            const left = end - Date.now();
            if (left <= 0)
                throw new Error('no ' + kind + ' within ' + (ms || 5000) + ' ms; queued: ' +
                                JSON.stringify(queue.map((e) => e.ev)));
            await new Promise((resolve) => {
                const t = setTimeout(resolve, left);
                wake = () => {
                    clearTimeout(t);
                    wake = null;
                    resolve();
                };
            });
        }
    }

    const sendP = (data, o) =>
        new Promise((resolve, reject) => ws.send(data, o, (err) => (err ? reject(err) : resolve())));

    const steps = (job.steps || []).slice();
    // A refused handshake ends the job: its events say why.
    const first = await take(['open', 'unexpected-response', 'error'], opts.handshakeTimeout + 1000);
    if (first.ev !== 'open')
        steps.length = 0;
    for (let i = 0; i < steps.length; i++) {
        const s = steps[i];
        if (s.send !== undefined) {
            const data = s.binary ? Buffer.from(s.send, s.encoding || 'utf8') : s.send;
            await sendP(data, {binary: !!s.binary, fin: s.fin !== false, compress: s.compress});
        } else if (s.send_hex !== undefined) {
            const data = Buffer.from(s.send_hex, 'hex');
            await sendP(data, {binary: !!s.binary, fin: s.fin !== false, compress: s.compress});
        } else if (s.gen !== undefined) {
            const data = generate(s.gen, s.kind || 'random');
            await sendP(data, {binary: !!s.binary, fin: s.fin !== false, compress: s.compress});
            out({ev: 'step', i, len: data.length, sha256: sha256(data)});
        } else if (s.ping !== undefined) {
            ws.ping(s.ping);
        } else if (s.expect !== undefined) {
            const e = await take(s.expect, s.timeout);
            out(Object.assign({}, e, {ev: 'step', i, got: e.ev}));
        } else if (s.messages !== undefined) {
            const got = [];
            for (let k = 0; k < s.messages; k++)
                got.push(await take('message', s.timeout));
            out({ev: 'step', i, messages: got.map((e) => ({len: e.len, sha256: e.sha256,
                                                           binary: e.binary, text: e.text}))});
        } else if (s.close !== undefined) {
            if (s.close === null)
                ws.close();
            else
                ws.close(s.close, s.reason);
        } else if (s.sleep !== undefined) {
            await new Promise((resolve) => setTimeout(resolve, s.sleep));
        } else if (s.terminate) {
            ws.terminate();
        } else if (s.print !== undefined) {
            out({ev: 'mark', mark: s.print});
        } else if (s.stdin) {
            await nextLine();
        } else {
            throw new Error('unknown step ' + JSON.stringify(s));
        }
    }
    clearTimeout(timer);
    out({ev: 'done'});
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)
        ws.terminate();
    process.exit(0);
}

main().catch((err) => {
    out({ev: 'fail', message: String(err && err.stack)});
    process.exit(1);
});

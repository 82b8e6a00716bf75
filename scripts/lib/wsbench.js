// wsbench.js - WebSocket scale for scripts/bench: hold N chat connections open, measure the
// server's memory per connection, and the time from one publish to its delivery on every one.
//
//   NODE_PATH=tests/node/node_modules node scripts/lib/wsbench.js --url ws://127.0.0.1:P/chatsocket
//       [--connections 10000] [--batch 500] [--rounds 20] [--warmup 1] [--interval 200]
//       [--pid SERVER_PID] [--open-timeout 120] [--round-timeout 10] [--settle 1000]
//       [--sources 1] [--probe URL] [--probes 5] [--procs 1]
//
// The chat protocol (gale's modules/chat and scripts/lib/tornado_chat.py): a client sends the
// text frame {"body": B, "name": N}; the server sends every open socket, the sender's too,
// {"messages": [{"id", "from", "body", "time"}]}.
//
// Phases, each bounded in time:
//  1. memory of the server before: the sum of VmRSS (/proc/PID/status) over --pid and all its
//     descendants (gale: master and workers; Tornado: its one process);
//  2. open --connections sockets, --batch at a time (the next batch starts when every socket of
//     the last one opened or failed), within --open-timeout seconds in all; failures are counted
//     by cause;
//  3. wait --settle ms, read the server's memory again: (after - before) / opened = bytes per
//     connection held open; with --probe, then time --probes fresh HTTP GETs of that URL, one
//     at a time, each on a new connection (is the server still quick for a newcomer while it
//     holds them all?);
//  4. --warmup + --rounds publishes, one at a time, --interval ms apart (after the previous one
//     was delivered everywhere or timed out): the first open socket sends a message whose body is
//     a unique token, and every socket notes when a frame holding that token arrives. Per round:
//     the time until the first, the median and the LAST socket had it (publish -> delivery on
//     every socket); a round that has not reached every socket within --round-timeout seconds
//     counts as incomplete, with how many it reached;
//  5. close every socket (terminate), wait --settle ms, read the server's memory once more.
//
// Times are taken in this one Node.js thread: receiving N frames costs it time itself (~20 us
// a frame), so "last" includes the client's own work of reading all N frames. The same client
// measures every server, so the comparison holds. Run with `node --expose-gc` (and a larger
// young generation, --max-semi-space-size=64), so that the client's garbage is collected in the
// pause between rounds, not during one.
//
// --sources N spreads the sockets over the local addresses 127.0.0.1 to 127.0.0.N (loopback
// only): one source address has about 28,000 ephemeral ports to the server's one port, so more
// connections than that need a second.
//
// --procs K splits the sockets over K client processes (this one and K-1 helpers it forks),
// for when one process may not hold them all (its descriptor limit). The helpers open their
// share alongside, watch every publish on their sockets and report their arrival times to this
// process, which merges them: times are taken on the system clock (performance.timeOrigin +
// now()), the same for every process on the machine.
//
// Progress goes to stderr; the result is one JSON line on stdout. Exit status 0 when the run
// went through (even with failures, which the JSON reports), 1 when no socket opened, 2 on bad
// arguments.
'use strict';

const fs = require('fs');
const http = require('http');
const {performance} = require('perf_hooks');
const crypto = require('crypto');
let WebSocket;
try {
    WebSocket = require('ws');
} catch (e) {
    process.stderr.write('wsbench: the npm package ws is missing: set NODE_PATH to ' +
                         'tests/node/node_modules (scripts/lib/common.sh gale_node_deps)\n');
    process.exit(2);
}

const opts = {
    url: '',
    connections: 10000,
    batch: 500,
    rounds: 20,
    warmup: 1,
    interval: 200,
    pid: 0,
    'open-timeout': 120,
    'round-timeout': 10,
    settle: 1000,
    'clk-tck': 100,
    sources: 1,
    probe: '',
    probes: 5,
    procs: 1,
    helper: 0,          // set in a helper: its number (1..K-1)
    'source-offset': 0, // a helper's first source address, after the others' sockets
};
{
    const argv = process.argv.slice(2);
    for (let i = 0; i < argv.length; i++) {
        let a = argv[i], v;
        if (!a.startsWith('--')) usage('unexpected argument ' + a);
        a = a.slice(2);
        const eq = a.indexOf('=');
        if (eq >= 0) {
            v = a.slice(eq + 1);
            a = a.slice(0, eq);
        } else {
            v = argv[++i];
        }
        if (!(a in opts) || v === undefined) usage('bad option --' + a);
        if (a === 'url' || a === 'probe') {
            opts[a] = v;
        } else {
            const n = Number(v);
            if (!Number.isFinite(n) || n < 0) usage('--' + a + ' wants a number >= 0');
            opts[a] = n;
        }
    }
    if (!opts.url) usage('--url is required');
    if (opts.connections < 1 || opts.batch < 1) usage('--connections and --batch want >= 1');
    if (opts.sources < 1 || opts.sources > 254) usage('--sources wants 1 to 254');
    if (opts.procs < 1 || opts.procs > 64) usage('--procs wants 1 to 64');
}

function usage(why) {
    process.stderr.write('wsbench: ' + why + '\n' +
                         'usage: wsbench.js --url ws://HOST:PORT/PATH [--connections N] ' +
                         '[--batch N] [--rounds K] [--warmup W] [--interval MS] [--pid PID] ' +
                         '[--open-timeout S] [--round-timeout S] [--settle MS] [--sources N] ' +
                         '[--probe URL] [--probes K]\n');
    process.exit(2);
}

const say = (s) => process.stderr.write('wsbench: ' + s + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

// ---- the server's memory -------------------------------------------------------------------

function treePids(root) {
    if (!root) return [];
    const children = new Map();
    for (const name of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(name)) continue;
        let stat;
        try {
            stat = fs.readFileSync('/proc/' + name + '/stat', 'utf8');
        } catch (e) {
            continue;
        }
        // After the command name, which may hold spaces and parentheses: state, ppid, ...
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (!children.has(ppid)) children.set(ppid, []);
        children.get(ppid).push(Number(name));
    }
    const out = [root];
    for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]) || []));
    return out;
}

// {kib: sum of VmRSS, procs: [{pid, kib, fds}, ...]}, or null without --pid or when it is gone.
// fds (open descriptors) tells how the connections are spread over gale's workers.
function serverRss() {
    if (!opts.pid) return null;
    let kib = 0;
    const procs = [];
    for (const pid of treePids(opts.pid)) {
        let status;
        try {
            status = fs.readFileSync('/proc/' + pid + '/status', 'utf8');
        } catch (e) {
            continue;
        }
        const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
        if (!m) continue; // a zombie
        kib += Number(m[1]);
        let fds = null;
        try {
            fds = fs.readdirSync('/proc/' + pid + '/fd').length;
        } catch (e) {
            // not ours to read
        }
        procs.push({pid, kib: Number(m[1]), fds});
    }
    return procs.length ? {kib, procs} : null;
}

// CPU time of the server's tree in ms: utime+stime of each live process, plus cutime+cstime
// (children already reaped), fields 14-17 of /proc/PID/stat.
function serverCpuMs() {
    if (!opts.pid) return null;
    let ticks = 0, seen = 0;
    for (const pid of treePids(opts.pid)) {
        try {
            const stat = fs.readFileSync('/proc/' + pid + '/stat', 'utf8');
            const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
            ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
            seen++;
        } catch (e) {
            continue;
        }
    }
    return seen ? ticks * 1000 / opts['clk-tck'] : null; // null: the server is gone
}

function clientCpuMs() {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
}

// ---- the run -------------------------------------------------------------------------------

const result = {
    url: opts.url,
    requested: opts.connections,
    batch: opts.batch,
    opened: 0,
    failed: 0,
    errors: {},
    open_ms: null,
    rss_before_kib: null,
    rss_open_kib: null,
    rss_rounds_kib: null,
    rss_closed_kib: null,
    server_procs: 0,
    procs_open: null,
    bytes_per_conn: null,
    warmup: opts.warmup,
    rounds: [],
    incomplete_rounds: 0,
    last_p50_ms: null,
    last_max_ms: null,
    median_p50_ms: null,
    first_p50_ms: null,
    server_cpu_open_us_per_conn: null,
    server_cpu_ms_per_round: null,
    client_cpu_ms_per_round: null,
    probe_p50_ms: null,
    probe_max_ms: null,
    probe_failed: null,
    closed_early: 0,
    server_alive: true,
    client_rss_kib: null,
};

const socks = [];    // every socket that opened, in order
let live = 0;        // of them, not closed
let round = null;    // the round being measured: {n, token, t0, expected, got, times, ...}
let phase = 'open';

function countError(what) {
    result.errors[what] = (result.errors[what] || 0) + 1;
}

function errorName(err) {
    if (!err) return 'unknown';
    if (err.code) return err.code;
    return String(err.message || err).replace(/\d{3,}ms/, 'N ms').slice(0, 80);
}

// Open one socket; resolves true once open, false when it failed (counted).
let opened = 0; // sockets started, for --sources
function openOne() {
    return new Promise((resolve) => {
        const o = {perMessageDeflate: false, skipUTF8Validation: true, handshakeTimeout: 30000};
        if (opts.sources > 1)
            o.localAddress = '127.0.0.' + (1 + ((opts['source-offset'] + opened) % opts.sources));
        opened++;
        const ws = new WebSocket(opts.url, o);
        let settled = false, lastError = null;
        ws.on('open', () => {
            settled = true;
            ws.idx = socks.length;
            ws.seen = -1;
            socks.push(ws);
            live++;
            resolve(true);
        });
        ws.on('error', (err) => {
            lastError = err;
            if (phase !== 'open' && phase !== 'closing' && ws.idx !== undefined)
                countError('after open: ' + errorName(err));
        });
        ws.on('close', () => {
            if (!settled) {
                settled = true;
                result.failed++;
                countError(errorName(lastError));
                resolve(false);
                return;
            }
            live--;
            ws.closed = true;
            if (phase !== 'closing') {
                result.closed_early++;
                if (round && ws.seen !== round.n) {
                    round.expected--;
                    round.lost++;
                    checkRound();
                }
            }
        });
        ws.on('message', (data) => {
            if (!round || ws.seen === round.n) return;
            if (data.indexOf(round.tokenBuf) < 0) {
                round.other++;
                return;
            }
            const t = now() - round.t0;
            ws.seen = round.n;
            round.times[round.got++] = t;
            checkRound();
        });
        ws.abort = () => {
            if (!settled) ws.terminate();
        };
        pending.add(ws);
        const done = () => pending.delete(ws);
        ws.once('open', done);
        ws.once('close', done);
    });
}
const pending = new Set();

async function openAll() {
    const t0 = now();
    const deadline = t0 + opts['open-timeout'] * 1000;
    let started = 0, lastReport = t0;
    while (started < opts.connections && now() < deadline) {
        const n = Math.min(opts.batch, opts.connections - started);
        const batch = [];
        for (let i = 0; i < n; i++) batch.push(openOne());
        started += n;
        const all = Promise.all(batch);
        let timer;
        const timedOut = await Promise.race([
            all.then(() => false),
            new Promise((r) => { timer = setTimeout(() => r(true), Math.max(0, deadline - now())); }),
        ]);
        clearTimeout(timer);
        if (timedOut) {
            say(`open: --open-timeout (${opts['open-timeout']} s) reached with ` +
                `${pending.size} handshakes pending; they count as failed`);
            for (const ws of [...pending]) ws.abort();
            await Promise.race([all, sleep(2000)]);
            break;
        }
        if (now() - lastReport > 5000) {
            lastReport = now();
            say(`open: ${socks.length} open, ${result.failed} failed, ` +
                `${((now() - t0) / 1000).toFixed(1)} s`);
        }
    }
    result.open_ms = now() - t0;
    result.opened = socks.length;
    result.failed = opts.connections - socks.length;
}

function checkRound() {
    if (round && round.got >= round.expected && round.resolve) {
        round.done = now() - round.t0;
        const r = round.resolve;
        round.resolve = null;
        r();
    }
}

function median(sorted) {
    if (!sorted.length) return null;
    const m = sorted.length >> 1;
    return sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}

async function publishRound(n, counted) {
    const sender = socks.find((ws) => !ws.closed);
    if (!sender) return false;
    const token = 'wsbench-' + n + '-' + crypto.randomBytes(6).toString('hex');
    round = {
        n, token, tokenBuf: Buffer.from(token), expected: live, got: 0, other: 0, lost: 0,
        times: new Float64Array(live), t0: 0, resolve: null, done: null,
    };
    const rdMain = round;
    const finished = new Promise((r) => { rdMain.resolve = r; });
    let timer;
    if (helpers.length) {
        const armed = await Promise.all(helpers.map((h) => {
            if (!h.gone) h.proc.send({type: 'arm', n, token});
            return expect(h, 'armed', 5000);
        }));
        if (armed.includes(null)) say('a helper process did not answer; its sockets are left out');
    }
    round = rdMain;
    round.t0 = now();
    sender.send(JSON.stringify({body: token, name: 'wsbench'}));
    const ownTimedOut = await Promise.race([
        finished.then(() => false),
        new Promise((r) => { timer = setTimeout(() => r(true), opts['round-timeout'] * 1000); }),
    ]);
    clearTimeout(timer);
    const rd = round;
    round = null;
    const times = Array.from(rd.times.subarray(0, rd.got));
    // the helpers' sockets: their arrival times on the system clock, from this send
    const t0Epoch = performance.timeOrigin + rd.t0;
    const reports = await Promise.all(helpers.map((h) => expect(h, 'report', (opts['round-timeout'] + 5) * 1000)));
    let timedOut = ownTimedOut;
    for (const rep of reports) {
        if (!rep) {
            timedOut = true;
            continue;
        }
        rd.expected += rep.expected;
        rd.got += rep.got;
        rd.other += rep.other;
        rd.lost += rep.lost;
        timedOut = timedOut || rep.timed_out;
        for (const t of rep.times) times.push(t - t0Epoch);
    }
    times.sort((a, b) => a - b);
    const rec = {
        expected: rd.expected,
        delivered: rd.got,
        first_ms: times.length ? times[0] : null,
        median_ms: median(times),
        last_ms: timedOut ? null : times[times.length - 1],
        other_frames: rd.other,
        closed_during: rd.lost, // sockets that closed before the message reached them
    };
    if (timedOut) rec.timeout_s = opts['round-timeout'];
    if (counted) result.rounds.push(rec);
    const f = (v) => (v === null ? 'n/a' : v.toFixed(1));
    say(`${counted ? 'round ' + (result.rounds.length) : 'warm-up'}: ${rd.got}/${rd.expected} ` +
        `delivered${rd.lost ? ` (${rd.lost} sockets closed during the round)` : ''}, first ${f(rec.first_ms)} ms, median ${f(rec.median_ms)} ms, last ` +
        (timedOut ? `(timed out after ${opts['round-timeout']} s)` : f(rec.last_ms) + ' ms'));
    return !timedOut;
}

function serverAlive() {
    if (!opts.pid) return true;
    try {
        process.kill(opts.pid, 0);
        return true;
    } catch (e) {
        return false;
    }
}

function readRss(field) {
    const r = serverRss();
    if (r) {
        result[field] = r.kib;
        result.server_procs = Math.max(result.server_procs, r.procs.length);
    }
    return r;
}

// ---- helper processes (--procs) -----------------------------------------------------------

const helpers = []; // in the main process: {proc, inbox: Map(type -> [messages]), waiters}

function startHelpers() {
    const {fork} = require('child_process');
    const share = Math.floor(opts.connections / opts.procs);
    const mine = opts.connections - share * (opts.procs - 1);
    for (let i = 1; i < opts.procs; i++) {
        const args = ['--url', opts.url, '--connections', share, '--batch', opts.batch,
                      '--open-timeout', opts['open-timeout'], '--round-timeout', opts['round-timeout'],
                      '--sources', opts.sources, '--source-offset', mine + (i - 1) * share,
                      '--helper', i].map(String);
        const h = {proc: fork(__filename, args), inbox: new Map(), waiters: new Map()};
        h.proc.on('message', (m) => {
            const w = h.waiters.get(m.type);
            if (w) {
                h.waiters.delete(m.type);
                w(m);
            } else {
                if (!h.inbox.has(m.type)) h.inbox.set(m.type, []);
                h.inbox.get(m.type).push(m);
            }
        });
        h.proc.on('exit', () => { h.gone = true; for (const w of h.waiters.values()) w(null); });
        helpers.push(h);
    }
    opts.connections = mine;
}

// The next message of `type` from helper h, or null after ms (or when it is gone).
function expect(h, type, ms) {
    const q = h.inbox.get(type);
    if (q && q.length) return Promise.resolve(q.shift());
    if (h.gone) return Promise.resolve(null);
    return new Promise((resolve) => {
        const timer = setTimeout(() => { h.waiters.delete(type); resolve(null); }, ms);
        h.waiters.set(type, (m) => { clearTimeout(timer); resolve(m); });
    });
}

function mergeErrors(errors) {
    for (const [k, n] of Object.entries(errors || {})) result.errors[k] = (result.errors[k] || 0) + n;
}

// A helper's life: open its share, then watch the publishes the main process announces.
async function helperMain() {
    process.on('message', (m) => {
        if (m.type === 'arm') helperArm(m);
        else if (m.type === 'close') helperClose();
    });
    process.on('disconnect', () => process.exit(0));
    await openAll();
    phase = 'held';
    process.send({type: 'opened', opened: result.opened, failed: result.failed,
                  errors: result.errors, open_ms: result.open_ms});
}

function helperArm(m) {
    phase = 'rounds';
    const rd = {n: m.n, token: m.token, tokenBuf: Buffer.from(m.token), expected: live, got: 0,
                other: 0, lost: 0, times: new Float64Array(live), t0: 0, resolve: null,
                done: null};
    let timer = null;
    const report = () => {
        if (rd.reported) return;
        rd.reported = true;
        clearTimeout(timer);
        if (round === rd) round = null;
        process.send({type: 'report', expected: rd.expected, got: rd.got, other: rd.other,
                      lost: rd.lost, timed_out: rd.got < rd.expected,
                      times: Array.from(rd.times.subarray(0, rd.got), (t) => performance.timeOrigin + t)});
    };
    rd.resolve = report;
    round = rd;
    timer = setTimeout(report, opts['round-timeout'] * 1000);
    process.send({type: 'armed'});
    if (rd.expected === 0) report();
}

// Close every socket, this process's and its helpers' (each closing its own), and count the
// sockets that had closed early in the helpers.
async function closeAll() {
    phase = 'closing';
    for (const ws of socks) if (!ws.closed) ws.terminate();
    const closed = helpers.map((h) => {
        if (!h.gone) h.proc.send({type: 'close'});
        return expect(h, 'closed', 15000);
    });
    const t = now();
    while (live > 0 && now() - t < 10000) await sleep(50);
    for (const m of await Promise.all(closed)) {
        if (!m) continue;
        result.closed_early += m.closed_early;
    }
}

async function helperClose() {
    await closeAll();
    process.send({type: 'closed', closed_early: result.closed_early, errors: result.errors});
    setTimeout(() => process.exit(0), 100);
}

// One GET of --probe on a new connection: its time in ms until the whole answer is in, or
// null when it failed or took over 10 s.
function probeOnce() {
    return new Promise((resolve) => {
        const t0 = now();
        const req = http.get(opts.probe, {agent: false, timeout: 10000}, (res) => {
            res.on('data', () => {});
            res.on('end', () => resolve(res.statusCode === 200 ? now() - t0 : null));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', () => resolve(null));
    });
}

async function probeAll() {
    const times = [];
    let failed = 0;
    for (let i = 0; i < opts.probes; i++) {
        const t = await probeOnce();
        if (t === null) failed++;
        else times.push(t);
    }
    times.sort((x, y) => x - y);
    result.probe_failed = failed;
    result.probe_p50_ms = median(times);
    result.probe_max_ms = times.length ? times[times.length - 1] : null;
    say(`probe: ${times.length} of ${opts.probes} fresh GETs of ${opts.probe} answered, ` +
        `median ${result.probe_p50_ms === null ? 'n/a' : result.probe_p50_ms.toFixed(1)} ms, ` +
        `max ${result.probe_max_ms === null ? 'n/a' : result.probe_max_ms.toFixed(1)} ms`);
}

async function main() {
    const before = readRss('rss_before_kib');
    if (opts.pid && !before) say(`no process ${opts.pid}: memory is not measured`);

    say(`open: ${opts.connections} connections to ${opts.url}, ${opts.batch} at a time`);
    const cpuOpen0 = serverCpuMs();
    if (opts.procs > 1) {
        startHelpers();
        say(`open: ${opts.procs} client processes, ${opts.connections} sockets in this one`);
    }
    const helperOpened = helpers.map((h) => expect(h, 'opened', (opts['open-timeout'] + 30) * 1000));
    await openAll();
    for (const m of await Promise.all(helperOpened)) {
        if (!m) {
            say('a helper process did not report its sockets');
            continue;
        }
        result.opened += m.opened;
        result.failed += m.failed;
        mergeErrors(m.errors);
        result.open_ms = Math.max(result.open_ms, m.open_ms);
    }
    const cpuOpen1 = serverCpuMs();
    if (cpuOpen0 !== null && cpuOpen1 !== null && result.opened)
        result.server_cpu_open_us_per_conn = (cpuOpen1 - cpuOpen0) * 1000 / result.opened;
    say(`open: ${result.opened} open, ${result.failed} failed in ` +
        `${(result.open_ms / 1000).toFixed(2)} s` +
        (result.failed ? ' ' + JSON.stringify(result.errors) : ''));
    phase = 'held';
    if (!result.opened) {
        result.server_alive = serverAlive();
        process.stdout.write(JSON.stringify(result) + '\n');
        return 1;
    }

    await sleep(opts.settle);
    const open = readRss('rss_open_kib');
    if (open) result.procs_open = open.procs;
    if (before && open)
        result.bytes_per_conn = (open.kib - before.kib) * 1024 / result.opened;
    if (open)
        say(`memory: server ${before.kib} KiB before, ${open.kib} KiB with ${result.opened} ` +
            `open (${open.procs.length} processes): ` +
            `${(result.bytes_per_conn / 1024).toFixed(2)} KiB per connection`);
    if (opts.probe) await probeAll();

    phase = 'rounds';
    let sCpu = 0, cCpu = 0, sRounds = 0;
    for (let i = 0; i < opts.warmup + opts.rounds; i++) {
        if (live === 0) {
            say('every socket closed; no more rounds');
            break;
        }
        const s0 = serverCpuMs(), c0 = clientCpuMs();
        const ok = await publishRound(i, i >= opts.warmup);
        // The round's CPU: the server's (delivering one message to every socket) and this
        // client's (reading it on every socket), to tell which of the two bounded the time.
        if (i >= opts.warmup) {
            const s1 = serverCpuMs();
            if (s0 !== null && s1 !== null) {
                sCpu += s1 - s0;
                sRounds++;
            }
            cCpu += clientCpuMs() - c0;
        }
        if (!ok && !serverAlive()) {
            say('the server is gone');
            break;
        }
        // Collect this client's garbage between rounds rather than in the middle of one (a
        // major GC of the heap of N sockets took ~100-200 ms of a round every ~18 rounds).
        if (global.gc) global.gc();
        await sleep(opts.interval);
    }
    readRss('rss_rounds_kib');

    const rounds = result.rounds;
    const done = rounds.filter((r) => r.last_ms !== null);
    result.incomplete_rounds = rounds.length - done.length;
    const sorted = (a) => a.filter((v) => v !== null).sort((x, y) => x - y);
    const lasts = sorted(done.map((r) => r.last_ms));
    result.last_p50_ms = median(lasts);
    result.last_max_ms = lasts.length ? lasts[lasts.length - 1] : null;
    result.median_p50_ms = median(sorted(rounds.map((r) => r.median_ms)));
    result.first_p50_ms = median(sorted(rounds.map((r) => r.first_ms)));
    if (rounds.length) {
        if (sRounds) result.server_cpu_ms_per_round = sCpu / sRounds;
        result.client_cpu_ms_per_round = cCpu / rounds.length;
        say(`CPU per publish: server ${sRounds ? (sCpu / sRounds).toFixed(1) : 'n/a'} ms, ` +
            `this client ${(cCpu / rounds.length).toFixed(1)} ms`);
    }
    result.client_rss_kib = Math.round(process.memoryUsage().rss / 1024);

    await closeAll();
    await sleep(opts.settle);
    readRss('rss_closed_kib');
    result.server_alive = serverAlive();
    process.stdout.write(JSON.stringify(result) + '\n');
    return 0;
}

if (opts.helper) {
    helperMain().catch((err) => {
        say('helper failed: ' + (err && err.stack || err));
        process.exit(1);
    });
} else main().then((code) => process.exit(code), (err) => {
    say('failed: ' + (err && err.stack || err));
    process.stdout.write(JSON.stringify(result) + '\n');
    process.exit(1);
});

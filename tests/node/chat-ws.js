// chat-ws.js - the WebSocket side of the chat demo (modules/chat) driven by
// the npm `ws` client, for tests/blackbox/18-chat.py:
//
//   node chat-ws.js http://127.0.0.1:PORT
//
// Against a fresh gale (nothing posted yet): two sockets, one posts, both
// receive; bad frames get {"error"} and the socket stays open; a post over
// HTTP reaches the sockets; a socket that reconnects with its cursor gets
// what it missed, once, in order; an unknown or empty cursor gets the whole
// cache; a post with an id is acknowledged once sequenced, and sent again
// with the same id (after a reconnection) shows once; a foreign Origin is
// refused. Prints "ok: ..." lines, exits 0; on a
// failure prints why on stderr and exits 1.
'use strict';

const WebSocket = require('ws');

const base = process.argv[2];
const wsBase = base.replace(/^http/, 'ws');
const TIMEOUT = 5000; // ms for any one thing to happen

function fail(msg) {
    console.error('FAIL: ' + msg);
    process.exit(1);
}

function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(what, cond, timeout = TIMEOUT) {
    const end = Date.now() + timeout;
    for (;;) {
        const v = cond();
        if (v)
            return v;
        if (Date.now() > end)
            fail('timed out waiting for ' + what);
        await sleep(10);
    }
}

// One socket, recording every frame: the messages in arrival order, the
// errors, and the frames themselves.
class Client {
    constructor(name, cursor, origin = base) {
        this.name = name;
        this.frames = [];
        this.messages = [];
        this.errors = [];
        this.closed = null;
        const url = wsBase + '/chatsocket' + (cursor === undefined ? '' : '?cursor=' +
                                              encodeURIComponent(cursor));
        this.ws = new WebSocket(url, { origin });
        this.ws.on('message', (data, binary) => {
            const frame = JSON.parse(data.toString());
            this.frames.push(frame);
            if (frame.error !== undefined)
                this.errors.push(frame.error);
            for (const m of frame.messages || [])
                this.messages.push(m);
        });
        this.ws.on('close', (code) => {
            this.closed = code;
        });
        this.opened = new Promise((resolve, reject) => {
            this.ws.on('open', resolve);
            this.ws.on('unexpected-response', (req, res) => reject(new Error('HTTP ' + res.statusCode)));
            this.ws.on('error', reject);
        });
    }

    async open() {
        await Promise.race([this.opened, sleep(TIMEOUT).then(() => fail(this.name + ' did not open'))]);
        return this;
    }

    send(obj) {
        this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
    }

    ids() {
        return this.messages.map((m) => m.id);
    }

    bodies() {
        return this.messages.map((m) => m.body);
    }

    async got(body) {
        return waitFor(this.name + ' to receive ' + JSON.stringify(body),
                       () => this.messages.find((m) => m.body === body));
    }

    async close() {
        this.ws.close(1000);
        await waitFor(this.name + ' to close', () => this.closed !== null);
    }
}

function same(a, b, what) {
    if (JSON.stringify(a) !== JSON.stringify(b))
        fail(what + ': expected ' + JSON.stringify(b) + ', got ' + JSON.stringify(a));
}

// A post over HTTP, with the page's XSRF token and cookie.
async function httpPost(body, name) {
    const page = await fetch(base + '/');
    const html = await page.text();
    const token = /<meta name="xsrf-token" content="([^"]+)"/.exec(html);
    const cookie = (page.headers.get('set-cookie') || '').split(';')[0];
    if (!token || !cookie.startsWith('_xsrf='))
        fail('the page has no token or no _xsrf cookie');
    const res = await fetch(base + '/a/message/new', {
        method: 'POST',
        headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _xsrf: token[1], body, name }).toString(),
    });
    if (res.status !== 200)
        fail('POST /a/message/new: ' + res.status);
    return res.json();
}

async function main() {
    setTimeout(() => fail('the whole script took more than 25 s'), 25000).unref();

    // two sockets, one posts, both receive
    const a = await new Client('A').open();
    const b = await new Client('B').open();
    a.send({ body: 'hello from A', name: 'ann' });
    const ma = await a.got('hello from A');
    const mb = await b.got('hello from A');
    same(mb, ma, 'both sockets get the same message');
    if (!/^[0-9a-f]{32}$/.test(ma.id) || ma.from !== 'ann' || typeof ma.time !== 'number')
        fail('a message is {id, from, body, time}: ' + JSON.stringify(ma));
    same(a.frames[0], { messages: [ma] }, 'a new message comes as {"messages": [m]}');
    console.log('ok: two sockets, one sends, both receive');

    // bad frames: an error each, and the socket stays open
    const bad = ['not json', '[1, 2]', { body: '' }, { body: 'x'.repeat(2001) },
                 { body: 'ok', name: 'n'.repeat(41) }, { body: 'ok', name: 5 }, { name: 'ann' }];
    for (const frame of bad)
        a.send(frame);
    a.ws.send(Buffer.from('{"body": "binary"}'), { binary: true });
    await waitFor('an error for each bad frame', () => a.errors.length === bad.length + 1);
    a.send({ body: 'still open', name: '' });
    const open = await b.got('still open');
    if (a.closed !== null || open.from !== 'anonymous')
        fail('after bad frames: closed ' + a.closed + ', from ' + open.from);
    await a.got('still open');
    same(b.errors, [], 'errors go to the sender only');
    console.log('ok: bad frames answered with errors, the socket stays open');

    // a post over HTTP reaches the sockets
    const posted = await httpPost('over http', 'bob');
    same(await b.got('over http'), posted, 'the message over the socket is the one posted');
    await a.got('over http');
    console.log('ok: a post over HTTP reaches the sockets');

    // B goes away; what it misses comes on reconnection, once, in order
    const cursor = b.ids()[b.ids().length - 1];
    await b.close();
    for (const n of [1, 2, 3])
        a.send({ body: 'missed ' + n, name: 'ann' });
    await a.got('missed 3');
    const b2 = await new Client('B2', cursor).open();
    a.send({ body: 'after the reconnection', name: 'ann' });
    await b2.got('after the reconnection');
    await a.got('after the reconnection');
    const all = a.ids();
    same(b2.ids(), all.slice(all.indexOf(cursor) + 1), 'B2 gets what came after its cursor');
    same(b2.bodies(), ['missed 1', 'missed 2', 'missed 3', 'after the reconnection'],
         'B2 in order, once each');
    same(b2.frames[0].messages.length, 3, 'the catch-up is one frame');
    console.log('ok: catch-up on reconnection without duplicates or gaps');

    // a cursor the cache does not hold, or an empty one: the whole cache
    for (const c of ['f'.repeat(32), '']) {
        const w = await new Client('whole', c).open();
        await waitFor('the whole cache', () => w.frames.length > 0);
        await sleep(100);
        same(w.ids(), all, 'cursor ' + JSON.stringify(c) + ' gets the whole cache');
        same(w.frames.length, 1, 'in one frame');
        await w.close();
    }
    // no cursor: nothing until the next message
    const quiet = await new Client('quiet').open();
    await sleep(200);
    same(quiet.frames, [], 'no cursor: no catch-up');
    await quiet.close();
    console.log('ok: unknown and empty cursors get the whole cache, none gets nothing');

    // a post with its id: {"ack": id} once sequenced; sent again (no ack came: a reload), the
    // room keeps it once
    const id = 'a1'.repeat(16);
    const c = await new Client('C').open();
    c.send({ id, body: 'acked', name: 'cat' });
    await waitFor('the ack', () => c.frames.some((f) => f.ack === id));
    same((await c.got('acked')).id, id, 'the message has the id the client gave');
    const c2 = await new Client('C2').open();
    c2.send({ id, body: 'acked', name: 'cat' });
    await waitFor('the ack of the repeat', () => c2.frames.some((f) => f.ack === id));
    const room = await new Client('room', '').open();
    await waitFor('the whole cache', () => room.frames.length > 0);
    same(room.bodies().filter((b) => b === 'acked').length, 1, 'a repeated post is in the room once');
    c.send({ id: 'XYZ', body: 'bad id', name: 'cat' });
    await waitFor('an error for a bad id', () => c.errors.some((e) => /id/.test(e)));
    for (const x of [c, c2, room])
        await x.close();
    console.log('ok: a post with an id is acknowledged, and its repeat shows once');

    // another site's page may not open the room's socket
    const evil = new Client('evil', undefined, 'http://evil.example');
    const refused = await evil.opened.then(() => null, (e) => e.message);
    if (!refused || !/403/.test(refused))
        fail('a foreign Origin: ' + refused);
    console.log('ok: a foreign Origin is refused: ' + refused);

    await a.close();
    await b2.close();
    process.exit(0);
}

main().catch((e) => fail(e.stack || String(e)));

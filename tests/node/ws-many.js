// ws-many.js - many concurrent WebSocket clients (the npm `ws` package)
// against an echo route, for gale's black-box tests.
//
//   node ws-many.js URL CLIENTS MESSAGES [TIMEOUT_MS]
//
// Opens CLIENTS connections at once; once all are open, each sends MESSAGES
// text messages "c<client>-m<n>-<padding>" (sizes vary) and checks that
// the echoes come back whole and in order, then closes with 1000. Prints
// one JSON line: {"opened": N, "echoed": N, "closed": N, "codes": {...},
// "errors": [...first few...]}; exit 0 when every client got every echo
// and a clean close, 1 otherwise.
'use strict';

const WebSocket = require('ws');

const [url, nClients, nMessages, timeoutMs] = process.argv.slice(2);
const clients = parseInt(nClients, 10);
const messages = parseInt(nMessages, 10);

const result = {opened: 0, echoed: 0, closed: 0, codes: {}, errors: []};
let finished = 0;

function report() {
    const ok = result.opened === clients && result.echoed === clients * messages &&
               result.closed === clients && result.errors.length === 0;
    result.errors = result.errors.slice(0, 10);
    process.stdout.write(JSON.stringify(result) + '\n');
    process.exit(ok ? 0 : 1);
}

setTimeout(() => {
    result.errors.push('timeout');
    report();
}, parseInt(timeoutMs || '30000', 10));

function text(c, m) {
    return 'c' + c + '-m' + m + '-' + 'p'.repeat((c * 31 + m * 17) % 300);
}

const sockets = [];
function startAll() {
    for (let c = 0; c < clients; c++) {
        const ws = sockets[c];
        let next = 0;
        ws.on('message', (data, isBinary) => {
            const want = text(c, next);
            if (isBinary || data.toString() !== want)
                result.errors.push('client ' + c + ' message ' + next + ': got ' +
                                   data.toString().slice(0, 40));
            result.echoed++;
            next++;
            if (next < messages)
                ws.send(text(c, next));
            else
                ws.close(1000, 'done');
        });
        ws.send(text(c, 0));
    }
}

for (let c = 0; c < clients; c++) {
    const ws = new WebSocket(url, {perMessageDeflate: false, handshakeTimeout: 10000});
    sockets.push(ws);
    ws.on('open', () => {
        result.opened++;
        if (result.opened === clients)
            startAll();
    });
    ws.on('error', (err) => result.errors.push('client ' + c + ': ' + err.message));
    ws.on('close', (code) => {
        result.codes[code] = (result.codes[code] || 0) + 1;
        if (code === 1000)
            result.closed++;
        if (++finished === clients)
            report();
    });
}

// wsserver.js: an independent WebSocket server (the npm "ws" package) for interop tests.
// Usage: node wsserver.js [CERT KEY]   (with a certificate and key: wss). Prints "port N".
// Paths choose the behaviour:
//   /echo             echo every message
//   /frag             answer each message in three fragments
//   /ping             ping first, then echo (the client must answer with a pong)
//   /big?n=N          answer each message with N bytes of "x"
//   /close?code=C     close at once with code C and reason "bye"
//   /drop?ms=M        accept, then cut the connection (no close frame) after M ms
//   /noclose          echo one message, then read nothing more (a close goes unanswered)
//   /events[?drop=M|mute=M]  a subscriber: every message POSTed to /publish is sent to all of
//                     them (cut after M ms when drop is given; after M ms of mute it stops
//                     reading, so pings go unanswered, as behind a NAT that forgot the
//                     connection); POST /publish?ascii=1 parses the
//                     body and sends it re-encoded with every non-ASCII character as \uXXXX
//                     (as Python's json.dumps does), a body that is not JSON gets 400
// GET /stats answers {"pongs":n,"pings":n,"closes":{"1000":n,...},"connections":n,"open":n,
// "said":[...]}
// as JSON; "said" holds the messages subscribers sent.
const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');
const {WebSocketServer} = require(path.join(__dirname, '../../build/npm/node_modules/ws'));

const stats = {pongs: 0, pings: 0, closes: {}, connections: 0, open: 0, said: []};
const subscribers = new Set();
const lifetime = setTimeout(() => process.exit(0), 600000);
lifetime.unref();

function onRequest(req, res) {
  if (req.url === '/stats') {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(stats));
    return;
  }
  if (req.url.startsWith('/publish') && req.method === 'POST') {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      let body = Buffer.concat(chunks).toString('utf8');
      if (req.url === '/publish?ascii=1') {
        try {
          body = JSON.stringify(JSON.parse(body)).replace(/[\u007f-\uffff]/g,
            (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
        } catch (e) {
          res.statusCode = 400;
          res.end('not JSON');
          return;
        }
      }
      for (const ws of subscribers) ws.send(body);
      res.end('ok');
    });
    return;
  }
  res.statusCode = 404;
  res.end('not found');
}

const server = process.argv[3]
  ? https.createServer({cert: fs.readFileSync(process.argv[2]), key: fs.readFileSync(process.argv[3])}, onRequest)
  : http.createServer(onRequest);
const wss = new WebSocketServer({server, maxPayload: 1 << 20});

wss.on('connection', (ws, req) => {
  const url = new URL(req.url, 'http://x');
  stats.connections++;
  stats.open++;
  ws.on('pong', () => stats.pongs++);
  ws.on('ping', () => stats.pings++);
  ws.on('close', (code) => {
    stats.open--;
    stats.closes[code] = (stats.closes[code] || 0) + 1;
    subscribers.delete(ws);
  });
  ws.on('error', () => {});
  switch (url.pathname) {
    case '/frag':
      ws.on('message', (m) => {
        const s = m.toString();
        const a = Math.floor(s.length / 3), b = Math.floor((2 * s.length) / 3);
        ws.send(s.slice(0, a), {fin: false});
        ws.send(s.slice(a, b), {fin: false});
        ws.send(s.slice(b), {fin: true});
      });
      break;
    case '/auth':
      // the upgrade's Authorization, in answer to any message
      ws.on('message', () => ws.send(req.headers.authorization || 'none'));
      break;
    case '/ping':
      ws.ping('are you there');
      ws.on('message', (m, binary) => setTimeout(() => ws.send(m, {binary}), 50));
      break;
    case '/big': {
      const n = Number(url.searchParams.get('n') || 1000);
      ws.on('message', () => ws.send('x'.repeat(n)));
      break;
    }
    case '/close':
      ws.close(Number(url.searchParams.get('code') || 1000), 'bye');
      break;
    case '/noclose':
      // echoes one message, then reads nothing more: a close is never answered
      ws.once('message', (m, binary) => { ws.send(m, {binary}); req.socket.pause(); });
      break;
    case '/drop':
      setTimeout(() => ws.terminate(), Number(url.searchParams.get('ms') || 1000));
      break;
    case '/events':
      subscribers.add(ws);
      ws.on('message', (m) => stats.said.push(m.toString()));
      if (url.searchParams.get('drop')) setTimeout(() => ws.terminate(), Number(url.searchParams.get('drop')));
      if (url.searchParams.get('mute')) setTimeout(() => req.socket.pause(), Number(url.searchParams.get('mute')));
      break;
    default:
      ws.on('message', (m, binary) => ws.send(m, {binary}));
  }
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`port ${server.address().port}\n`);
});

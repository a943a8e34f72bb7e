// A WebSocket client on Node's `ws` package, driven line by line by NodeWebSocketInteropTest.
//
//   node ws-client.js URL WS_PACKAGE_DIR
//
// WS_PACKAGE_DIR is the --prefix that `npm install ws@8` was run with. Every event is printed to
// stdout as one line, payloads as JSON strings (so a payload is always one line):
//   open VERSION              the handshake succeeded (VERSION: ws' own)
//   message "TEXT"            a text message
//   binary "HEX"              a binary message (the chat server should never send one)
//   pong "DATA"               a pong, with its payload
//   ping "DATA"               a ping from the server (ws answers it by itself)
//   close CODE "REASON"       the connection closed; the process then exits 0
//   error "MESSAGE"           a failure (handshake refused, reset, protocol error)
// Each stdin line is a command; the rest of the line after the first space is its argument:
//   send TEXT                 one text message (UTF-8)
//   ping DATA                 a ping with DATA as payload
//   close CODE REASON         a close frame (REASON optional)
'use strict';

const path = require('path');
const readline = require('readline');

const [url, wsDir] = process.argv.slice(2);
if (!url || !wsDir) {
  process.stderr.write('usage: node ws-client.js URL WS_PACKAGE_DIR\n');
  process.exit(2);
}
const wsMain = require.resolve('ws', { paths: [path.resolve(wsDir)] });
const WebSocket = require(wsMain);
const version = require(path.join(path.dirname(wsMain), 'package.json')).version;

function out(line) {
  process.stdout.write(line + '\n');  // synchronous on a pipe on Linux: nothing lost on exit
}

const ws = new WebSocket(url, { handshakeTimeout: 10000 });
ws.on('open', () => out('open ' + version));
ws.on('message', (data, isBinary) => {
  if (isBinary) out('binary ' + JSON.stringify(Buffer.from(data).toString('hex')));
  else out('message ' + JSON.stringify(data.toString('utf8')));
});
ws.on('pong', (data) => out('pong ' + JSON.stringify(data.toString('utf8'))));
ws.on('ping', (data) => out('ping ' + JSON.stringify(data.toString('utf8'))));
ws.on('error', (err) => out('error ' + JSON.stringify(String(err && err.message))));
ws.on('close', (code, reason) => {
  out('close ' + code + ' ' + JSON.stringify(reason.toString('utf8')));
  process.exit(0);
});

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  const sp = line.indexOf(' ');
  const cmd = sp < 0 ? line : line.slice(0, sp);
  const arg = sp < 0 ? '' : line.slice(sp + 1);
  try {
    if (cmd === 'send') {
      ws.send(arg);
    } else if (cmd === 'ping') {
      ws.ping(arg);
    } else if (cmd === 'close') {
      const csp = arg.indexOf(' ');
      const code = Number(csp < 0 ? arg : arg.slice(0, csp));
      ws.close(code, csp < 0 ? undefined : arg.slice(csp + 1));
    } else {
      out('error ' + JSON.stringify('unknown command: ' + line));
    }
  } catch (err) {
    out('error ' + JSON.stringify(cmd + ': ' + String(err && err.message)));
  }
});
// The test went away: end at once rather than linger.
rl.on('close', () => { ws.terminate(); process.exit(0); });

// The two web servers of the home network, run by `node` inside a namespace:
//   backend NAME PORT  the Service's pod: answers "NAME <the address the request was sent to>"
//   echo PORT          a public-IP echo service out on the internet, answering as api6.my-ip.io
//                      does with the caller's address as it arrives (after any NAT on the way)
import http from 'node:http';
import process from 'node:process';

const [role, ...rest] = process.argv.slice(2);
const port = Number(role === 'backend' ? rest[1] : rest[0]);
const name = rest[0];

const caller = (req) => (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');

const answer =
  role === 'backend'
    ? (req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`${name} ${req.socket.localAddress ?? ''}\n`);
      }
    : (req, res) => {
        const ip = caller(req);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ success: true, ip, type: ip.includes(':') ? 'IPv6' : 'IPv4' }));
      };

if ((role !== 'backend' && role !== 'echo') || !Number.isInteger(port)) {
  process.stderr.write('usage: http-responder.mjs backend NAME PORT | echo PORT\n');
  process.exit(2);
}
http.createServer(answer).listen(port, '::', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', role, port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));

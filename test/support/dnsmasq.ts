import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { freePort } from '../../devcluster/ports.js';
import { ManagedProcess } from '../../devcluster/process.js';

export const DNSMASQ = '/usr/sbin/dnsmasq';

export interface DnsServer {
  /** "127.0.0.1:port", as a dns: source's @server. */
  address: string;
  stop(): Promise<void>;
}

/**
 * A real authoritative DNS server (Debian's dnsmasq) on a loopback port, answering only for the
 * records given; `home.example` is local (unknown names are NXDOMAIN), and names under
 * `broken.example` are forwarded to an upstream that fails every query, so they end in SERVFAIL.
 */
export async function startDnsmasq(records: Record<string, string[]>, logPath: string): Promise<DnsServer> {
  const port = await freePort();
  const failing = await failingUpstream();
  const args = [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    '--bind-interfaces',
    '--listen-address=127.0.0.1',
    `--port=${String(port)}`,
    '--user=root',
    '--pid-file',
    '--log-queries',
    '--local=/home.example/',
    `--server=/broken.example/127.0.0.1#${String(failing.port)}`,
    ...Object.entries(records).flatMap(([name, addresses]) =>
      addresses.map((a) => `--host-record=${name},${a}`),
    ),
  ];
  const proc = new ManagedProcess('dnsmasq', DNSMASQ, args, logPath);
  const deadline = Date.now() + 5000;
  // Ready when it answers on its port.
  while (Date.now() < deadline) {
    if (!proc.running) throw new Error(`dnsmasq exited: ${proc.tail()}`);
    const up = await new Promise<boolean>((resolve) => {
      const probe = spawn('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${String(port)}`]);
      probe.on('close', (code) => {
        resolve(code === 0);
      });
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    address: `127.0.0.1:${String(port)}`,
    async stop() {
      failing.socket.close();
      await proc.stop();
    },
  };
}

export const dnsmasqAvailable = () => existsSync(DNSMASQ);

/** An upstream resolver that answers every query with SERVFAIL (RCODE 2), echoing the question. */
async function failingUpstream(): Promise<{ port: number; socket: dgram.Socket }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (query, peer) => {
    const reply = Buffer.from(query);
    const rd = (query[2] ?? 0) & 0x01;
    reply[2] = 0x80 | rd; // QR=1, opcode 0, RD copied
    reply[3] = 0x80 | 0x02; // RA=1, RCODE=SERVFAIL
    reply.writeUInt16BE(0, 6); // no answers
    reply.writeUInt16BE(0, 8);
    reply.writeUInt16BE(0, 10);
    socket.send(reply, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, socket };
}

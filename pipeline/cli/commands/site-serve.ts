import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { createStaticServer } from '../../site/serve.ts';
import { int, str } from '../args.ts';
import { defineCommand } from '../command.ts';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export default defineCommand({
  path: ['site', 'serve'],
  summary: 'serve a built site on localhost (Ctrl-C stops)',
  usage: '[--dir DIR] [--port N] [--host ADDR]',
  details: `A small static file server for the output of \`styleatlas site build\`. Prints the URL on
stdout and runs until interrupted (Ctrl-C).

  --dir DIR     the built site (default site/dist)
  --port N      port (default 4321; 0 picks a free one)
  --host ADDR   address to listen on (default 127.0.0.1; anything else exposes the site to the network)`,
  options: {
    dir: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
  },
  async run({ values, io }) {
    const dir = resolve(io.cwd, str(values, 'dir') ?? join('site', 'dist'));
    const port = int(values, 'port', 4321, [0, 65535]);
    const host = str(values, 'host') ?? '127.0.0.1';
    const server = createStaticServer(dir);
    await new Promise<void>((ok, bad) => {
      server.once('error', bad);
      server.listen(port, host, () => ok());
    });
    // Signal handlers go in before the URL is printed: whoever reads the URL may stop us at once.
    const stopped = new Promise<void>((done) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        server.close(() => done());
        server.closeAllConnections();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    const addr = server.address() as AddressInfo;
    const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    if (!LOOPBACK.has(host)) io.err(`site: listening on ${host}: other machines can reach this site`);
    io.err(`site: serving ${dir} (Ctrl-C stops)`);
    io.out(`http://${shown}:${addr.port}/`);
    await stopped;
    io.err('site: stopped');
  },
});

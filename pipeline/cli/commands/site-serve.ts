import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { createStaticServer } from '../../site/serve.ts';
import { StyleAtlasError } from '../../core/errors.ts';
import { int, str } from '../args.ts';
import { defineCommand } from '../command.ts';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Why the server could not listen, as a coded error that says what to change. */
function listenError(e: NodeJS.ErrnoException, host: string, port: number): StyleAtlasError | Error {
  const free = 'or --port 0 to take a free one';
  switch (e.code) {
    case 'EADDRINUSE':
      return new StyleAtlasError('E_INPUT', `port ${port} on ${host} is in use by another program (EADDRINUSE)`, `stop that program, or choose another --port, ${free}`);
    case 'EACCES':
      return new StyleAtlasError('E_INPUT', `port ${port} on ${host} needs privileges this process does not have (EACCES)`, `choose a --port above 1023, ${free}`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new StyleAtlasError('E_INPUT', `--host ${host} is not a name or address this machine can resolve (${e.code})`, 'give an address of this machine, e.g. 127.0.0.1 (the default) or 0.0.0.0 for every interface');
    case 'EADDRNOTAVAIL':
      return new StyleAtlasError('E_INPUT', `--host ${host} is not an address of this machine (EADDRNOTAVAIL)`, 'give an address of this machine, e.g. 127.0.0.1 (the default) or 0.0.0.0 for every interface');
    default:
      return e;
  }
}

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
      server.once('error', (e) => bad(listenError(e, host, port)));
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

import net from 'node:net';

/**
 * A TCP proxy in front of Postgres that a test can cut and restore. `cut()` drops every open
 * connection (as a Postgres restart or a failover does) and refuses new ones until `restore()`:
 * by accepting and closing them at once (a load balancer in front of a stopped Postgres), or with
 * `{ refuse: true }` by not listening at all (ECONNREFUSED, a stopped Postgres on its own host).
 */
export interface PgProxy {
  /** `url` with its port pointing at the proxy. */
  via(url: string): string;
  cut(opts?: { refuse?: boolean }): void;
  restore(): Promise<void>;
  /** Connections passing through now. */
  readonly open: number;
  close(): Promise<void>;
}

/**
 * `onClientData`: every chunk the client sends, as it arrives (one socket write each, unless they
 * queue up), with the client's socket (to answer or close that one connection as the server would).
 */
export async function startPgProxy(targetUrl: string, opts: { onClientData?: (chunk: Buffer, client: net.Socket) => void } = {}): Promise<PgProxy> {
  const target = new URL(targetUrl);
  const pairs = new Set<[net.Socket, net.Socket]>();
  let up = true;
  const server = net.createServer((client) => {
    if (!up) return void client.destroy();
    const upstream = net.connect(Number(target.port), target.hostname);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    if (opts.onClientData) client.on('data', (chunk: Buffer) => opts.onClientData!(chunk, client));
    client.pipe(upstream).pipe(client);
    const close = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const proxy: PgProxy = {
    via(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    cut(opts = {}) {
      up = false;
      if (opts.refuse && server.listening) server.close();
      for (const [c, u] of pairs) (c.destroy(), u.destroy());
      pairs.clear();
    },
    async restore() {
      up = true;
      if (!server.listening) await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    },
    get open() {
      return pairs.size;
    },
    async close() {
      proxy.cut();
      if (server.listening) await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return proxy;
}

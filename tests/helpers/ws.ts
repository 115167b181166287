import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface TestSubscription<T = any> {
  events: T[];
  errors: unknown[];
  /** Resolves with the first event (already received or future) that matches. */
  waitFor(match: (event: T) => boolean, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

/** A real graphql-ws client over `ws`, authenticated with connectionParams like a browser would. */
export function connectWs(httpUrl: string, token?: string, opts: { onClosed?: (code: number) => void } = {}): Client {
  return createClient({
    url: `${httpUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : undefined,
    retryAttempts: 0,
    lazy: true,
    on: { closed: (event) => opts.onClosed?.((event as { code: number }).code) },
  });
}

export function subscribe<T = any>(client: Client, query: string, variables: Record<string, unknown> = {}, field?: string): TestSubscription<T> {
  const events: T[] = [];
  const errors: unknown[] = [];
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());
  const dispose = client.subscribe<Record<string, T>>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) errors.push(...result.errors);
        const data = result.data;
        if (data) events.push(field ? data[field]! : (Object.values(data)[0] as T));
        notify();
      },
      error: (err) => {
        errors.push(err);
        notify();
      },
      complete: () => notify(),
    },
  );
  return {
    events,
    errors,
    waitFor(match, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`No matching event within ${timeoutMs} ms; got ${JSON.stringify(events)} errors ${JSON.stringify(errors)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      dispose();
    },
  };
}

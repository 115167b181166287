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

/** A message the server sent on a raw graphql-transport-ws socket. */
export interface WsMessage {
  type: string;
  id?: string;
  payload?: any;
}

export interface RawSocket {
  messages: WsMessage[];
  /** Set when the server closed the socket. */
  closed?: { code: number; reason: string };
  send(message: object | string): void;
  subscribe(id: string, payload: { query: string; variables?: Record<string, unknown>; operationName?: string }): void;
  /** Resolves with the first message (already received or future) that matches. */
  waitFor(match: (m: WsMessage) => boolean, timeoutMs?: number): Promise<WsMessage>;
  /** Resolves when the server closed the socket. */
  whenClosed(timeoutMs?: number): Promise<{ code: number; reason: string }>;
  close(): void;
}

/**
 * The protocol by hand (graphql-transport-ws over `ws`), acknowledged: for what a well-behaved
 * client never sends (syntax errors, oversized messages, floods) and to see every message as sent.
 */
export async function openRawSocket(httpUrl: string, token: string): Promise<RawSocket> {
  const ws = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const messages: WsMessage[] = [];
  const waiters = new Set<() => void>();
  const raw: RawSocket = {
    messages,
    send: (m) => ws.send(typeof m === 'string' ? m : JSON.stringify(m)),
    subscribe: (id, payload) => raw.send({ id, type: 'subscribe', payload }),
    waitFor(match, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(match);
          if (!found) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`No matching message within ${timeoutMs} ms; closed ${JSON.stringify(raw.closed)}; last ${JSON.stringify(messages.slice(-3))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    whenClosed(timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!raw.closed) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(raw.closed);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`Still open after ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => ws.terminate(),
  };
  ws.on('message', (data) => {
    messages.push(JSON.parse(String(data)) as WsMessage);
    waiters.forEach((w) => w());
  });
  ws.on('close', (code, reason) => {
    raw.closed = { code, reason: String(reason) };
    waiters.forEach((w) => w());
  });
  ws.on('error', () => undefined); // a close follows
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  raw.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
  await raw.waitFor((m) => m.type === 'connection_ack');
  return raw;
}

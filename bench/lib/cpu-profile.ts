/**
 * CPU profiles of the benchmark's own process (the server runs in it): `BENCH_CPU_PROFILE=1` makes a
 * benchmark profile one measured phase with V8's sampling profiler (node:inspector, the same data as
 * `node --cpu-prof`), write the .cpuprofile next to its report (open it in Chrome DevTools) and print
 * where the time went: self time by package or source folder, and the heaviest functions.
 */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export const profilingRequested = () => process.env.BENCH_CPU_PROFILE === '1';

/** Starts the sampling profiler (100 µs interval); the returned function stops it and hands back the profile. */
export async function startCpuProfile(): Promise<() => Promise<CpuProfile>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
    session.disconnect();
    return profile;
  };
}

/** Where a frame's code lives: a package (node_modules/<name>), the vendored driver, a src/ folder, Node itself, or V8's pseudo-frames. */
export function categoryOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName.startsWith('(')) return functionName; // (garbage collector), (program), (idle)
    return '(native)';
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) {
    const inner = url.lastIndexOf('node_modules/');
    const last = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url.slice(inner));
    return last?.[1] ?? nm[1]!;
  }
  if (url.includes('/vendor/postgres/')) return 'postgres (vendored)';
  const src = /\/src\/([^/]+)\//.exec(url);
  if (src) return `src/${src[1]}`;
  if (/\/src\/[^/]+\.ts$/.test(url)) return 'src';
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/bench/')) return 'bench';
  return url;
}

export interface ProfileSummary {
  totalMs: number;
  byCategory: { name: string; ms: number; share: number }[];
  byFunction: { name: string; ms: number; share: number }[];
  /** Time with the function anywhere on the stack (counted once per sample), heaviest first. */
  inclusive: { name: string; ms: number; share: number }[];
}

export function summarizeProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const cats = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    total += us;
    const cat = categoryOf(url, functionName);
    cats.set(cat, (cats.get(cat) ?? 0) + us);
    const fn = `${functionName || '(anonymous)'} ${url ? `${path.basename(url)}:${lineNumber + 1}` : ''} [${cat}]`;
    fns.set(fn, (fns.get(fn) ?? 0) + us);
  }
  // Inclusive: walk each sampled node's ancestors once.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map<string, number>();
  const label = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url ? `${path.basename(n.callFrame.url)}:${n.callFrame.lineNumber + 1}` : ''}`;
  for (const [id, us] of self) {
    if (byId.get(id)!.callFrame.functionName === '(idle)') continue;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = label(byId.get(at)!);
      if (seen.has(name)) continue;
      seen.add(name);
      incl.set(name, (incl.get(name) ?? 0) + us);
    }
  }
  const rank = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: us / 1000, share: us / total }));
  return { totalMs: total / 1000, byCategory: rank(cats, 30), byFunction: rank(fns, top), inclusive: rank(incl, top * 3) };
}

export function renderProfileSummary(s: ProfileSummary, requests: number): string {
  const perReq = (ms: number) => (requests ? (ms / requests).toFixed(3) : 'n/a');
  return [
    `CPU profile: ${s.totalMs.toFixed(0)} ms sampled (not idle), ${requests} requests → ${perReq(s.totalMs)} ms/request`,
    '',
    '| self time by code | ms | share | ms/request |',
    '|---|---:|---:|---:|',
    ...s.byCategory.map((c) => `| ${c.name} | ${c.ms.toFixed(0)} | ${(c.share * 100).toFixed(1)} % | ${perReq(c.ms)} |`),
    '',
    '| heaviest functions (self) | ms | share |',
    '|---|---:|---:|',
    ...s.byFunction.map((f) => `| ${f.name.replaceAll('|', '\\|')} | ${f.ms.toFixed(0)} | ${(f.share * 100).toFixed(1)} % |`),
    '',
    '| heaviest functions (inclusive) | ms | share |',
    '|---|---:|---:|',
    ...s.inclusive.map((f) => `| ${f.name.replaceAll('|', '\\|')} | ${f.ms.toFixed(0)} | ${(f.share * 100).toFixed(1)} % |`),
  ].join('\n');
}

export function writeProfile(file: string, profile: CpuProfile) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(profile));
}

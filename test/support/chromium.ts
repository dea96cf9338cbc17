// Loads a page in headless Chromium (Debian's package, installed by src/stack/packages.ts when
// missing) and reads it back through the DevTools protocol over --remote-debugging-pipe: no
// WebSocket, no npm dependency. Reports console errors, uncaught exceptions, log errors and every
// request the page made, and evaluates an expression in the loaded page.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Readable, Writable } from 'node:stream';
import { ensureChromium } from '../../src/stack/packages.js';

export interface LoadedPage<T> {
  /** console.error/assert calls, uncaught exceptions and Log domain errors, as text. */
  readonly errors: readonly string[];
  /** Every URL the page asked for, the page itself first. */
  readonly requests: readonly string[];
  readonly value: T;
}

interface Message { id?: number; method?: string; sessionId?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { message: string } }

export async function loadPage<T>(file: string, expression: string, timeoutMs = 30_000): Promise<LoadedPage<T>> {
  const bin = ensureChromium();
  const profile = mkdtempSync(join(tmpdir(), 'peerlog-chromium-'));
  const child = spawn(bin, ['--headless', '--disable-gpu', '--no-sandbox', '--no-first-run', '--remote-debugging-pipe', `--user-data-dir=${profile}`, 'about:blank'],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  const toBrowser = child.stdio[3] as Writable;
  const fromBrowser = child.stdio[4] as Readable;
  const pending = new Map<number, { resolve(m: Message): void; reject(e: Error): void }>();
  const listeners: ((m: Message) => void)[] = [];
  let buffer = '';
  fromBrowser.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let end;
    while ((end = buffer.indexOf('\0')) >= 0) {
      const m = JSON.parse(buffer.slice(0, end)) as Message;
      buffer = buffer.slice(end + 1);
      if (m.id !== undefined && pending.has(m.id)) {
        const p = pending.get(m.id)!;
        pending.delete(m.id);
        if (m.error) p.reject(new Error(`CDP: ${m.error.message}`)); else p.resolve(m);
      } else for (const l of listeners) l(m);
    }
  });
  let next = 1;
  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Message> => new Promise((resolve, reject) => {
    const id = next++;
    pending.set(id, { resolve, reject });
    toBrowser.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  try {
    const errors: string[] = [];
    const requests: string[] = [];
    let loaded: () => void = () => undefined;
    const load = new Promise<void>((resolve) => { loaded = resolve; });
    listeners.push((m) => {
      const p = m.params ?? {};
      if (m.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'assert')) {
        errors.push(`console.${String(p.type)}: ${JSON.stringify((p.args as { value?: unknown; description?: string }[]).map((a) => a.value ?? a.description))}`);
      } else if (m.method === 'Runtime.exceptionThrown') {
        errors.push(`exception: ${JSON.stringify((p.exceptionDetails as { text?: string; exception?: { description?: string } }))}`);
      } else if (m.method === 'Log.entryAdded' && (p.entry as { level?: string }).level === 'error') {
        errors.push(`log: ${(p.entry as { text?: string; url?: string }).text} ${(p.entry as { url?: string }).url ?? ''}`.trim());
      } else if (m.method === 'Network.requestWillBeSent') {
        requests.push((p.request as { url: string }).url);
      } else if (m.method === 'Page.loadEventFired') loaded();
    });
    const { result: created } = await send('Target.createTarget', { url: 'about:blank' });
    const { result: attached } = await send('Target.attachToTarget', { targetId: created!.targetId, flatten: true });
    const session = attached!.sessionId as string;
    for (const domain of ['Runtime', 'Log', 'Network', 'Page']) await send(`${domain}.enable`, {}, session);
    await send('Page.navigate', { url: pathToFileURL(file).href }, session);
    await load;
    const { result } = await send('Runtime.evaluate', { expression, returnByValue: true }, session);
    const r = result as { result: { value?: T }; exceptionDetails?: unknown };
    if (r.exceptionDetails) throw new Error(`evaluating in the page failed: ${JSON.stringify(r.exceptionDetails)}`);
    // Messages logged while loading arrive before the load event; one round trip flushes the rest.
    await send('Runtime.evaluate', { expression: '0' }, session);
    return { errors, requests, value: r.result.value as T };
  } catch (e) {
    throw new Error(`headless Chromium: ${(e as Error).message}\n${stderr.slice(-2000)}`);
  } finally {
    clearTimeout(timer);
    await send('Browser.close').catch(() => undefined);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(profile, { recursive: true, force: true });
  }
}

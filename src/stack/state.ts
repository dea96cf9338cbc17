// The ports a stack directory's processes and files were made for. `stack up` compares them with
// the current layout: when PEERLOG_STACK_PORT_BASE (or the default) changed, or the directory comes
// from a version that kept no record, the running processes are stopped first (they hold the old
// ports and the data directories) and what names a port is rewritten as each component is
// prepared (kubeconfigs, Kafka's server.properties); etcd, PostgreSQL and the apiservers take their
// ports from flags, and no certificate names a port.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StackLayout } from './config.js';
import { PORT_OFFSETS, portAdditions, portChanges } from './ports.js';
import { isOurProcess, readPid, removePidFile, stopProcess } from './proc.js';

export interface StoppableProcess {
  readonly name: string;
  readonly processMatch: string;
  readonly pidFile: string;
  readonly stopSignal: NodeJS.Signals;
}

export function layoutRecord(layout: StackLayout): string {
  return join(layout.stateDir, 'layout.json');
}

export function readRecordedPorts(layout: StackLayout): Record<string, number> | undefined {
  try {
    const rec = JSON.parse(readFileSync(layoutRecord(layout), 'utf8')) as { ports?: Record<string, number> };
    return rec.ports && typeof rec.ports === 'object' ? rec.ports : undefined;
  } catch {
    return undefined;
  }
}

export function recordPorts(layout: StackLayout): void {
  mkdirSync(layout.stateDir, { recursive: true });
  writeFileSync(layoutRecord(layout), `${JSON.stringify({ ports: layout.portMap }, null, 2)}\n`);
}

export function forgetPorts(layout: StackLayout): void {
  rmSync(layoutRecord(layout), { force: true });
}

/** Stops each process that its pid file names and that is still ours, in the given order; removes the pid files. */
export async function stopRecorded(procs: readonly StoppableProcess[], say: (msg: string) => void): Promise<void> {
  for (const p of procs) {
    const pid = readPid(p.pidFile);
    if (isOurProcess(pid, p.processMatch)) {
      say(`stopping ${p.name} (pid ${pid})`);
      await stopProcess(pid, p.stopSignal, 20_000);
    }
    removePidFile(p.pidFile);
  }
}

/** True when the directory holds anything a previous `up` made (data, PKI or pid files). */
function hasState(layout: StackLayout, procs: readonly StoppableProcess[]): boolean {
  return ['clusters', 'kafka', 'etcd'].some((d) => existsSync(join(layout.stateDir, d)))
    || existsSync(join(layout.pgDataDir, 'PG_VERSION')) || procs.some((p) => existsSync(p.pidFile));
}

/**
 * Makes the stack directory match the layout's ports before anything starts: when they changed,
 * stops every process it started (`procs` in stop order) and records the new ports. Returns what
 * changed ([] when nothing did).
 */
export async function adoptPorts(layout: StackLayout, procs: readonly StoppableProcess[], say: (msg: string) => void): Promise<string[]> {
  let recorded = readRecordedPorts(layout);
  // A record that names none of today's ports tells nothing about them.
  if (recorded !== undefined && Object.keys(PORT_OFFSETS).every((k) => recorded![k] === undefined)) recorded = undefined;
  let changes: string[];
  if (recorded !== undefined) changes = portChanges(recorded, layout.portMap);
  else changes = hasState(layout, procs) ? ['ports unknown (made by a version that kept no record)'] : [];
  if (changes.length > 0) {
    say(`the stack's ports changed (${changes.join(', ')}): stopping its processes to start them on the new ports`);
    await stopRecorded(procs, say);
  }
  // Ports added by a later version move nothing: no recorded process holds them, so they are only
  // recorded (the components that use them notice for themselves that they must restart).
  const added = recorded !== undefined ? portAdditions(recorded, layout.portMap) : [];
  if (changes.length > 0 || recorded === undefined || added.length > 0) recordPorts(layout);
  return changes;
}

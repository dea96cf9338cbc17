// Stops and starts one component of the local stack from a program (the fault suite's outages):
// the same process, arguments and health check that `stack up` uses, for one component by name.
import { loadLayout } from './config.js';
import { components, type Component } from './components.js';
import { isOurProcess, readPid, removePidFile, startDetached, stopProcess, waitFor } from './proc.js';

/** Names `components()` knows: postgres, kafka, etcd, kube-apiserver-<cluster>, ... */
export type ComponentName = 'postgres' | 'kafka' | 'etcd' | `kube-apiserver-${'alpha' | 'beta'}`
  | `kube-controller-manager-${'alpha' | 'beta'}` | `kube-scheduler-${'alpha' | 'beta'}` | `kwok-${'alpha' | 'beta'}`;

function componentNamed(name: ComponentName): Component {
  const c = components(loadLayout()).find((x) => x.name === name);
  if (!c) throw new Error(`no stack component named ${name}`);
  return c;
}

/** The component's running pid (from its pid file, checked against its command line), if any. */
export function componentPid(name: ComponentName): number | undefined {
  const c = componentNamed(name);
  const pid = readPid(c.pidFile);
  return isOurProcess(pid, c.processMatch) ? pid : undefined;
}

/**
 * Stops the component: its own graceful signal, or SIGKILL when `kill` is set (a crash rather than
 * a shutdown); returns once the process is gone. A stopped component is left as it is.
 */
export async function stopComponent(name: ComponentName, opts: { readonly kill?: boolean } = {}): Promise<void> {
  const c = componentNamed(name);
  const pid = readPid(c.pidFile);
  if (isOurProcess(pid, c.processMatch)) await stopProcess(pid, opts.kill ? 'SIGKILL' : c.stopSignal, 30_000);
  removePidFile(c.pidFile);
}

/** Starts the component if it is not running and waits until it is healthy (as `stack up` does for it). */
export async function startComponent(name: ComponentName): Promise<void> {
  const c = componentNamed(name);
  if (componentPid(name) !== undefined) {
    await waitFor(c.name, () => c.healthy(), c.startTimeoutMs, c.logFile);
    return;
  }
  await c.prepare();
  const pid = startDetached(c.spec());
  await waitFor(c.name, () => c.healthy(), c.startTimeoutMs, c.logFile, () => isOurProcess(pid, c.processMatch));
  if (c.afterStart) await c.afterStart();
}

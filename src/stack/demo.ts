// `npm run demo`: the stack is up; show what it runs.
import { spawnSync } from 'node:child_process';
import type { StackLayout } from './config.js';

export async function runDemo(_layout: StackLayout, env: Record<string, string>): Promise<number> {
  process.stderr.write('\nThe local stack is up. Its components:\n\n');
  spawnSync(process.execPath, [process.argv[1]!, 'status'], { stdio: 'inherit' });
  for (const cluster of ['ALPHA', 'BETA']) {
    process.stdout.write(`\n$ kubectl --kubeconfig $${cluster}_KUBECONFIG get nodes\n`);
    spawnSync(env.KUBECTL!, ['--kubeconfig', env[`${cluster}_KUBECONFIG`]!, 'get', 'nodes', '-o', 'wide'], { stdio: 'inherit' });
  }
  return 0;
}

/**
 * A local Kubernetes control plane for trying a render by hand (control-plane.ts says what it is).
 *
 *   npm run cluster:up [-- --lifetime SECONDS] [-- --parent PID]   prints the path of its kubeconfig
 *   npm run cluster:down [-- DIR]                                   stops it (default: the last one started)
 *
 * It stops by itself after --lifetime seconds (default two hours), or when process --parent ends.
 * Use the kubectl built with it (`cluster:up` prints its path on stderr): the preinstalled one is older.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startControlPlane, stopControlPlane } from './cluster/control-plane';

const LAST = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'mlflow-gke', 'cluster', 'last-up');

function option(args: string[], name: string): number | undefined {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const value = Number(args[at + 1]);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} needs a positive whole number, got ${args[at + 1]}`);
  return value;
}

async function main(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  if (command === 'up') {
    // Without --parent the cluster outlives this command (npm exits at once): only the time limit ends it.
    const cluster = await startControlPlane({ parentPid: option(rest, '--parent') ?? 0, lifetimeSeconds: option(rest, '--lifetime') ?? 7200 });
    fs.mkdirSync(path.dirname(LAST), { recursive: true });
    fs.writeFileSync(LAST, `${cluster.dir}\n`);
    process.stderr.write(`cluster: kubectl ${cluster.kubectlPath}; stop it with npm run cluster:down\n`);
    process.stdout.write(`${cluster.kubeconfig}\n`);
  } else if (command === 'down') {
    const dir = rest[0] ?? (fs.existsSync(LAST) ? fs.readFileSync(LAST, 'utf8').trim() : undefined);
    if (!dir || !fs.existsSync(dir)) {
      process.stderr.write('cluster: no local control plane is running\n');
      return;
    }
    stopControlPlane(dir);
    if (fs.existsSync(LAST) && fs.readFileSync(LAST, 'utf8').trim() === dir) fs.rmSync(LAST);
    process.stderr.write(`cluster: stopped (${dir} removed)\n`);
  } else {
    throw new Error('usage: tsx scripts/cluster.ts up [--lifetime SECONDS] [--parent PID] | down [DIR]');
  }
}

main(process.argv.slice(2)).catch((error: Error) => {
  process.stderr.write(`cluster: ${error.message}\n`);
  process.exitCode = 1;
});

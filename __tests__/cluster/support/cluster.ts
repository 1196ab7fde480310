/**
 * One local control plane per test file (or per scenario): started in beforeAll, stopped in afterAll,
 * and by its watchdog if the test process dies. `npm run test:cluster` builds the programs first and
 * passes their folder in MLFLOW_GKE_CLUSTER_BIN; a test file run alone builds them when missing.
 */
import { execFile } from 'child_process';
import { ControlPlane, startControlPlane, stopControlPlane } from '../../../scripts/cluster/control-plane';

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Cluster extends ControlPlane {
  /** Runs kubectl against this cluster; never throws on a non-zero exit. */
  run(args: readonly string[], input?: string): Promise<KubectlResult>;
  /** Runs kubectl and returns stdout; throws with kubectl's output on a non-zero exit. */
  kubectl(args: readonly string[], input?: string): Promise<string>;
  /** `kubectl get` as parsed JSON items. */
  list(resource: string, namespace?: string): Promise<any[]>;
  stop(): void;
}

export async function startCluster(): Promise<Cluster> {
  const plane = await startControlPlane({ binDir: process.env.MLFLOW_GKE_CLUSTER_BIN, log: () => {} });
  const run = (args: readonly string[], input?: string) =>
    new Promise<KubectlResult>((resolve) => {
      const child = execFile(
        plane.kubectlPath,
        // Its own discovery cache: ports are reused across clusters, and another cluster's list of kinds must not be.
        [`--kubeconfig=${plane.kubeconfig}`, `--cache-dir=${plane.dir}/kubectl-cache`, ...args],
        { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 },
        (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
      child.stdin?.end(input ?? '');
    });
  const kubectl = async (args: readonly string[], input?: string) => {
    const r = await run(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited with ${r.code}:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  return {
    ...plane,
    run,
    kubectl,
    list: async (resource, namespace) =>
      JSON.parse(await kubectl(['get', resource, ...(namespace ? ['-n', namespace] : ['--all-namespaces']), '-o', 'json'])).items,
    stop: () => stopControlPlane(plane.dir),
  };
}

/** Time for a test that starts a cluster and applies a render or two. */
export const CLUSTER_TIMEOUT = 300_000;

/**
 * A real Kubernetes control plane on loopback, for tests and for trying a render by hand: etcd,
 * kube-apiserver and kube-controller-manager built from Go modules (build.sh), with a throwaway data
 * folder and keys made at start. No scheduler and no kubelet: Deployments, StatefulSets and Jobs get
 * their Pods created (and judged by admission, Pod Security included), which never run.
 *
 * A watchdog (watchdog.sh) stops it when the process that started it ends, when its time is up, or
 * on SIGTERM; stopControlPlane() does the same at once.
 */
import { execFileSync, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import { freePort } from '../../local/ports';
import { makeKeys } from './pki';

const HERE = __dirname;

export interface ControlPlane {
  /** The cluster's folder: keys, data, logs, the kubeconfig; removed when it stops. */
  readonly dir: string;
  readonly kubeconfig: string;
  /** The kubectl built with the control plane (the one on PATH may be older). */
  readonly kubectlPath: string;
  readonly server: string;
}

export interface StartOptions {
  /** The control plane stops when this process ends. @default the calling process */
  readonly parentPid?: number;
  /** It stops after this many seconds in any case. @default 7200 */
  readonly lifetimeSeconds?: number;
  /** Where the programs are; @default build.sh's folder (building them first when needed). */
  readonly binDir?: string;
  /** Progress lines (the build's included). @default stderr */
  readonly log?: (line: string) => void;
}

/** Builds the programs when they are missing (build.sh prints the progress) and returns their folder. */
export function buildControlPlane(): string {
  return execFileSync('bash', [path.join(HERE, 'build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** GETs a path of the API server; resolves with the status code (0 when it does not answer). */
function probe(server: string, ca: Buffer, token: string, urlPath: string): Promise<number> {
  return new Promise((resolve) => {
    const request = https.get(`${server}${urlPath}`, { ca, headers: { authorization: `Bearer ${token}` }, timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', () => resolve(0));
    request.on('timeout', () => request.destroy());
  });
}

function kubeconfigText(server: string, ca: Buffer, user: string, token: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server, 'certificate-authority-data': ca.toString('base64') } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'local', context: { cluster: 'local', user } }],
    'current-context': 'local',
  });
}

/**
 * Starts a control plane; when a server of it finds its port taken, starts again on new ports (at most
 * three times). The ports are free when chosen, but a server opens its outgoing connections (the API
 * server's to etcd) from the same ephemeral range before it listens, so one of them can take a chosen
 * port first.
 */
export async function startControlPlane(options: StartOptions = {}): Promise<ControlPlane> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      if (attempt >= 3 || !String((error as Error).message).includes('address already in use')) throw error;
      (options.log ?? ((line: string) => process.stderr.write(`${line}\n`)))(
        `cluster: a port was taken while starting (attempt ${attempt}); starting again on new ports`,
      );
    }
  }
}

async function startOnce(options: StartOptions): Promise<ControlPlane> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const bin = options.binDir ?? buildControlPlane();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-cluster-'));
  const file = (name: string) => path.join(dir, name);
  const pids: number[] = [];
  const watchdog = spawn('bash', [path.join(HERE, 'watchdog.sh'), dir, String(options.parentPid ?? process.pid), String(options.lifetimeSeconds ?? 7200)], {
    detached: true,
    stdio: 'ignore',
  });
  watchdog.unref();
  fs.writeFileSync(file('watchdog.pid'), `${watchdog.pid}\n`);

  const run = (name: string, args: string[]) => {
    const out = fs.openSync(file(`${name}.log`), 'a');
    const child = spawn(path.join(bin, name), args, { detached: true, stdio: ['ignore', out, out] });
    child.unref();
    fs.closeSync(out);
    pids.push(child.pid!);
    // What the watchdog stops (it reads the file when it stops, so a process started later is on it).
    fs.writeFileSync(file('pids'), pids.map((p) => `${p}\n`).join(''));
    return child;
  };
  const failed = (what: string, logName: string): Error => {
    const tail = fs.existsSync(file(logName)) ? fs.readFileSync(file(logName), 'utf8').split('\n').slice(-30).join('\n') : '';
    stopControlPlane(dir);
    return new Error(`local control plane: ${what}; last lines of ${logName}:\n${tail}`);
  };

  try {
    const keys = makeKeys(file('pki'));
    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    run('etcd', [
      '--name=local',
      `--data-dir=${file('etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=local=http://127.0.0.1:${etcdPeer}`,
      // A throwaway store: durability on power loss does not matter, the time fsync takes does.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);

    const admin = randomBytes(24).toString('hex');
    const controllers = randomBytes(24).toString('hex');
    // Static tokens: the admin (system:masters) for kubectl, and the controller manager as the user
    // that Kubernetes' bootstrap RBAC grants its role to.
    fs.writeFileSync(file('tokens.csv'), `${admin},admin,admin,system:masters\n${controllers},system:kube-controller-manager,kcm\n`, { mode: 0o600 });
    const server = `https://127.0.0.1:${apiPort}`;
    const apiserver = run('kube-apiserver', [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${file('apiserver')}`,
      `--tls-cert-file=${keys.serverCert}`,
      `--tls-private-key-file=${keys.serverKey}`,
      `--token-auth-file=${file('tokens.csv')}`,
      '--authorization-mode=RBAC',
      `--service-account-key-file=${keys.serviceAccountPub}`,
      `--service-account-signing-key-file=${keys.serviceAccountKey}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      '--service-cluster-ip-range=10.0.0.0/24',
      // Off by default; clusters that run workloads turn it on (kubeadm does: cmd/kubeadm/app/phases/
      // controlplane/manifests.go in k8s.io/kubernetes v1.36.3) and leave the judging to Pod Security.
      '--allow-privileged=true',
      '--profiling=false',
    ]);
    const ca = fs.readFileSync(keys.caCert);
    const deadline = Date.now() + 90_000;
    while ((await probe(server, ca, admin, '/readyz')) !== 200) {
      if (apiserver.exitCode !== null) throw failed(`kube-apiserver exited with ${apiserver.exitCode}`, 'kube-apiserver.log');
      if (Date.now() > deadline) throw failed('kube-apiserver not ready after 90 s', 'kube-apiserver.log');
      await sleep(250);
    }

    fs.writeFileSync(file('controller-manager.kubeconfig'), kubeconfigText(server, ca, 'system:kube-controller-manager', controllers), { mode: 0o600 });
    run('kube-controller-manager', [
      `--kubeconfig=${file('controller-manager.kubeconfig')}`,
      '--bind-address=127.0.0.1',
      // No health endpoint: nothing probes it, and no port is taken.
      '--secure-port=0',
      '--leader-elect=false',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${keys.serviceAccountKey}`,
      `--root-ca-file=${keys.caCert}`,
    ]);
    const kubeconfig = file('kubeconfig');
    fs.writeFileSync(kubeconfig, kubeconfigText(server, ca, 'admin', admin), { mode: 0o600 });
    // The controllers are up once the service-account controller has made the default namespace's account.
    while ((await probe(server, ca, admin, '/api/v1/namespaces/default/serviceaccounts/default')) !== 200) {
      if (Date.now() > deadline) throw failed('kube-controller-manager made no default ServiceAccount in 90 s', 'kube-controller-manager.log');
      await sleep(250);
    }
    log(`cluster: Kubernetes control plane at ${server} (folder ${dir})`);
    return { dir, kubeconfig, kubectlPath: path.join(bin, 'kubectl'), server };
  } catch (error) {
    stopControlPlane(dir);
    throw error;
  }
}

/** Stops the control plane of `dir` through its watchdog and waits until its folder is gone. */
export function stopControlPlane(dir: string): void {
  const pidFile = path.join(dir, 'watchdog.pid');
  if (!fs.existsSync(pidFile)) return;
  try {
    process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGTERM');
  } catch {
    // already gone: it removes the folder before it exits
  }
  const deadline = Date.now() + 30_000;
  while (fs.existsSync(dir) && Date.now() < deadline) execFileSync('sleep', ['0.1']);
}

/**
 * `npm run bench:server`: the speed of the running platform. The rendered MLflow of the embedded
 * default config (or --config FILE) starts for real through local/platform.ts, on a local PostgreSQL,
 * loopback only, and the same workloads run against five configurations in one run:
 *
 *   a. the rendered server as a workspace user (Basic credentials of a provisioned account, TLS);
 *   b. the rendered server as an IAP user (a signed test token from the load balancer's address, TLS);
 *   c. the floor: a plain `mlflow server` on the same database, no auth, no TLS, as many workers;
 *   d. the peer: the basic-auth server as the community chart configures it by default
 *      (bench/server/plain-server.ts cites its values), on its own auth database;
 *   e. the floor with TLS: c with the rendered server's uvicorn TLS options and certificate, which
 *      says how much of a gap between a or b and c is TLS (e/c) and how much the rest (a/e, b/e).
 *
 * Workloads: log-batch of 100 metrics, search-runs over the seeded runs, artifact upload and download
 * of 10 MB and 100 MB through the proxied artifact routes. It prints throughput, p50 and p99 per
 * configuration and the ratios. With --write it records the table in bench/server-results.md and in
 * the README's performance section; without, it writes nothing.
 *
 * Cores: with two or more, the servers run on the last core and everything else (this load
 * generator, PostgreSQL) on the others (taskset), so a configuration's throughput is that of one
 * core of server; PostgreSQL and the load generator share theirs, which caps what the floor can show.
 *
 * Options: --config FILE, --seconds N per request workload (default 5), --concurrency N (default 8),
 * --runs N seeded runs (default 2000), --workers LIST (the worker sweep: the rendered server as the
 * workspace user at each worker count on one core, instead of the comparison), --repeat N (rounds
 * of every workload over the same servers, each figure the median of its rounds), --write, --verbose.
 */
import { spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Config } from '../config/schema';
import { iapAudience } from '../local/iap';
import { LOAD_BALANCER_ADDRESS, LocalPlatform } from '../local/platform';
import { freePort } from '../local/ports';
import { removeTempDirs } from '../local/postgres';
import { loadConfig } from '../model/load';
import { buildModel } from '../model';
import { serverWorkers } from '../model/server-workers';
import { Caller, LoadResult, quantile, runLoad, Target } from './server/load';
import { MLFLOW_DEFAULT_WORKERS, PEER_ARGS, PlainServer, peerAuthIni } from './server/plain-server';
import { pinSelf, pinTree, serverCpus } from './server/cpus';
import { Options, parseOptions } from './server/options';
import { ConfigurationId, formatReport, Measured, medianOfRounds, Workload, WORKLOADS, writeReport } from './server/report';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain Node script, shared with npm test
const { ensurePythonEnv } = require('../scripts/python-env.js');

const T0 = Date.now();
/**
 * What the floors share with the rendered server beyond the database: no server-side job runner
 * (the render sets MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false and refuses true, config/schema/mlflow.ts),
 * so that neither starts the runner's consumer processes on the servers' core.
 */
const AS_RENDERED = { MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false' };
/** The untimed load before each timed request workload (the transfers warm up with one request per caller). */
const WARM_UP_SECONDS = 1;
const log = (line: string) => process.stderr.write(`bench:server [${((Date.now() - T0) / 1000).toFixed(0)}s]: ${line}\n`);

/**
 * The data every configuration reads: one experiment of `runs` runs with params, metrics and tags,
 * made through the floor's API and filled by bench/server/seed.py straight into the tables.
 */
async function seed(floor: Caller, runs: number, pythonBin: string, uri: string, artifactRoot: string): Promise<string> {
  const { experiment_id: experimentId } = await floor.json('POST', '/api/2.0/mlflow/experiments/create', {
    name: `bench-search-${randomBytes(4).toString('hex')}`,
  });
  const seeded = spawnSync(path.join(pythonBin, 'python'), [path.join(__dirname, 'server', 'seed.py'), uri, experimentId, String(runs), artifactRoot], {
    encoding: 'utf8',
  });
  if (seeded.status !== 0) throw new Error(`seeding ${runs} runs failed:\n${seeded.stdout}${seeded.stderr}`);
  const found = await floor.json('POST', '/api/2.0/mlflow/runs/search', { experiment_ids: [experimentId], max_results: 1000, filter: "params.model = 'vit'" });
  const expected = Math.min(1000, Math.ceil((runs - 1) / 3));
  if (found.runs?.length !== expected) throw new Error(`the floor finds ${found.runs?.length ?? 0} seeded runs with model vit, ${expected} expected`);
  return experimentId;
}

/** What one configuration writes to: an experiment of its caller's own and a run in it. */
async function ownRun(caller: Caller, label: string): Promise<{ experimentId: string; runId: string }> {
  const { experiment_id: experimentId } = await caller.json('POST', '/api/2.0/mlflow/experiments/create', {
    name: `bench-${label}-${randomBytes(4).toString('hex')}`,
  });
  const { run } = await caller.json('POST', '/api/2.0/mlflow/runs/create', { experiment_id: experimentId });
  return { experimentId, runId: run.info.run_id };
}

interface Prepared {
  readonly id: ConfigurationId;
  readonly target: Target;
  readonly experimentId: string;
  readonly runId: string;
}

function requestsOf(
  p: Prepared,
  searchExperiment: string,
  workload: Workload,
  blob: Buffer,
): (i: number) => { method: string; path: string; body?: Buffer; contentType?: string } {
  const artifact = (name: string) => `/api/2.0/mlflow-artifacts/artifacts/${p.experimentId}/${p.runId}/artifacts/${name}`;
  switch (workload.kind) {
    case 'log-batch':
      return (i) => ({
        method: 'POST',
        path: '/api/2.0/mlflow/runs/log-batch',
        body: Buffer.from(
          JSON.stringify({
            run_id: p.runId,
            metrics: Array.from({ length: 100 }, (_, k) => ({
              key: `m${k % 10}`,
              value: i + k,
              timestamp: 1_700_000_000_000 + i,
              step: i * 10 + Math.floor(k / 10),
            })),
          }),
        ),
      });
    case 'search-runs':
      return () => ({
        method: 'POST',
        path: '/api/2.0/mlflow/runs/search',
        body: Buffer.from(JSON.stringify({ experiment_ids: [searchExperiment], max_results: 100, filter: "params.model = 'vit' and metrics.loss > 10" })),
      });
    case 'upload':
      return (i) => ({ method: 'PUT', path: artifact(`${workload.id}-${i}`), body: blob, contentType: 'application/octet-stream' });
    case 'download':
      // Reads back what the upload of the same size wrote (the first file of it).
      return () => ({ method: 'GET', path: artifact(`${workload.id.replace('download', 'upload')}-0`) });
  }
}

/**
 * One configuration under one workload: an untimed warm-up of the same requests (so that it is not
 * timed while its process is still cold or the database still busy with the last workload's writes),
 * then the timed load.
 */
async function measure(p: Prepared, workload: Workload, searchExperiment: string, blob: Buffer, options: Options): Promise<Measured> {
  const requests = requestsOf(p, searchExperiment, workload, blob);
  const concurrency = workload.transfer ? 2 : options.concurrency;
  const discardBody = workload.kind === 'download';
  await runLoad(p.target, requests, { concurrency, seconds: workload.transfer ? 0 : WARM_UP_SECONDS, minRequests: concurrency, discardBody });
  const result: LoadResult = await runLoad(p.target, requests, {
    concurrency,
    seconds: workload.bytes && workload.bytes >= 100 * 2 ** 20 ? 0 : workload.transfer ? options.seconds / 2 : options.seconds,
    minRequests: workload.transfer ? 4 : 20,
    discardBody,
  });
  return {
    workload: workload.id,
    configuration: p.id,
    requests: result.requests,
    seconds: result.seconds,
    perSecond: result.requests / result.seconds,
    mbPerSecond: result.bytes / 2 ** 20 / result.seconds,
    p50: quantile(result.latenciesMs, 0.5),
    p99: quantile(result.latenciesMs, 0.99),
  };
}

async function measureWorkloads(prepared: Prepared[], searchExperiment: string, options: Options): Promise<Measured[]> {
  const measured: Measured[] = [];
  // Workload by workload, each configuration in turn: whatever the machine does in between (the
  // database growing by the logged metrics) falls on all of them alike. Every other workload takes
  // the configurations in the reverse order, so that none is always the first after a change.
  for (const [index, workload] of WORKLOADS.entries()) {
    const blob = workload.bytes ? randomBytes(workload.bytes) : Buffer.alloc(0);
    for (const p of index % 2 === 0 ? prepared : [...prepared].reverse()) {
      const m = await measure(p, workload, searchExperiment, blob, options);
      log(
        `${workload.id} ${p.id}: ${m.perSecond.toFixed(1)}/s, ${m.mbPerSecond.toFixed(1)} MB/s, p50 ${m.p50.toFixed(1)} ms, p99 ${m.p99.toFixed(1)} ms (${m.requests} requests)`,
      );
      measured.push(m);
    }
  }
  return measured;
}

function platformTargets(platform: LocalPlatform): {
  tls: { ca: Buffer; serverName: string };
  basic: (account: { username: string; password: string }) => Target;
  iap: (email: string) => Target;
} {
  const ca = fs.readFileSync(platform.caFile);
  const serviceName = platform.serviceHosts[platform.serviceHosts.length - 1];
  const tls = { ca, serverName: serviceName };
  const inCluster = `${serviceName}:${buildModel(platform.options.config).names.mlflowPort}`;
  // startPlatform pins the backend whenever the config does not.
  const audience = iapAudience(platform.options.config.project.number, platform.options.config.mlflow.auth.iapBackendServiceId!);
  return {
    tls,
    basic: ({ username, password }) => {
      const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
      return { port: platform.port, tls, headers: () => ({ host: inCluster, authorization }) };
    },
    iap: (email) => {
      // A token lives 10 minutes (as IAP's): a fresh one every minute covers any run.
      let token = '';
      let minted = 0;
      return {
        port: platform.port,
        tls,
        from: LOAD_BALANCER_ADDRESS,
        headers: () => {
          if (Date.now() - minted > 60_000) {
            token = platform.signer.mint({ email, aud: audience });
            minted = Date.now();
          }
          return { host: platform.publicHost, 'x-goog-iap-jwt-assertion': token };
        },
      };
    },
  };
}

/** A variable of the rendered Cloud SQL grant Job: the server's database and IAM user. */
function grantEnv(platform: LocalPlatform, name: string): string {
  const grant = platform.rendered.job('mlflow-sql-grant').spec.template.spec.containers.find((c: { name: string }) => c.name === 'grant');
  return grant.env.find((e: { name: string }) => e.name === name).value;
}

function databaseUser(platform: LocalPlatform): string {
  return grantEnv(platform, 'IAM_USER');
}

/** The database the rendered server uses, as a URI the plain servers can use (trust on loopback), with its driver. */
function databaseUri(platform: LocalPlatform, database?: string): string {
  return `postgresql+psycopg2://${encodeURIComponent(databaseUser(platform))}@127.0.0.1:${platform.postgres!.port}/${database ?? grantEnv(platform, 'PGDATABASE')}`;
}

/**
 * The backend service id the run pins when the config has none: a deployment pins it once its
 * Ingress exists (docs/first-deployment.md), and only then does the verifier accept IAP tokens on
 * MLflow's FastAPI-native routes (the artifact uploads and downloads among them: iap_auth.py).
 */
const BENCH_BACKEND_SERVICE_ID = '4242';

async function startPlatform(input: Config, options: Options, pythonBin: string): Promise<LocalPlatform> {
  const config = input.mlflow.auth.iapBackendServiceId
    ? input
    : { ...input, mlflow: { ...input.mlflow, auth: { ...input.mlflow.auth, iapBackendServiceId: BENCH_BACKEND_SERVICE_ID } } };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-bench-'));
  const platform = new LocalPlatform({ config, dir, pythonBin, onLine: options.verbose ? (l) => process.stderr.write(`${l}\n`) : undefined });
  await platform.start();
  return platform;
}

async function stopPlatform(platform: LocalPlatform | undefined): Promise<void> {
  if (!platform) return;
  await platform.stop().catch((e) => log(`stopping the platform: ${(e as Error).message}`));
  fs.rmSync(platform.options.dir, { recursive: true, force: true });
}

async function compare(config: Config, options: Options, pythonBin: string, cpus: string | undefined): Promise<Measured[]> {
  let platform: LocalPlatform | undefined;
  const plain: PlainServer[] = [];
  try {
    log('starting the rendered MLflow (PostgreSQL, migration, server, provisioning)');
    platform = await startPlatform(config, options, pythonBin);
    if (cpus) pinTree(platform.serverContainer!.process.pid!, cpus);
    const targets = platformTargets(platform);
    const workspace = platform.workspaceAccounts()[0];
    if (!workspace) throw new Error('the config provisions no workspace account: bench:server needs one (workspaces enabled)');

    const floorPort = await freePort();
    const floor = new PlainServer({
      pythonBin,
      port: floorPort,
      backendStoreUri: databaseUri(platform),
      artifactsDir: path.join(platform.options.dir, 'floor-artifacts'),
      workers: serverWorkers(config),
      env: AS_RENDERED,
      onLine: options.verbose ? (l) => process.stderr.write(`[floor] ${l}\n`) : undefined,
    });
    plain.push(floor);
    const caDir = path.dirname(platform.caFile);
    const floorTls = new PlainServer({
      pythonBin,
      port: await freePort(),
      backendStoreUri: databaseUri(platform),
      artifactsDir: path.join(platform.options.dir, 'floor-tls-artifacts'),
      workers: serverWorkers(config),
      env: AS_RENDERED,
      tls: { ...targets.tls, certFile: path.join(caDir, 'server.crt'), keyFile: path.join(caDir, 'server.key') },
      onLine: options.verbose ? (l) => process.stderr.write(`[floor-tls] ${l}\n`) : undefined,
    });
    plain.push(floorTls);

    await platform.postgres!.query(`CREATE DATABASE peer_auth OWNER "${databaseUser(platform)}"`);
    const peerAdmin = { username: 'admin', password: randomBytes(18).toString('base64url') };
    const iniFile = path.join(platform.options.dir, 'peer-auth.ini');
    fs.writeFileSync(iniFile, peerAuthIni(databaseUri(platform, 'peer_auth'), peerAdmin), { mode: 0o600 });
    const peer = new PlainServer({
      pythonBin,
      port: await freePort(),
      backendStoreUri: databaseUri(platform),
      artifactsDir: path.join(platform.options.dir, 'peer-artifacts'),
      workers: MLFLOW_DEFAULT_WORKERS,
      args: PEER_ARGS,
      env: { MLFLOW_AUTH_CONFIG_PATH: iniFile, MLFLOW_FLASK_SERVER_SECRET_KEY: randomBytes(24).toString('hex') },
      onLine: options.verbose ? (l) => process.stderr.write(`[peer] ${l}\n`) : undefined,
    });
    plain.push(peer);
    log(
      "starting the floor (plain mlflow server, same database), the floor with TLS and the peer (the community chart's basic-auth server, its own auth database)",
    );
    await Promise.all(plain.map((server) => server.start()));
    if (cpus) for (const server of plain) pinTree(server.pid!, cpus);

    const floorTarget: Target = { port: floorPort, headers: () => ({ host: `127.0.0.1:${floorPort}` }) };
    const peerAdminTarget: Target = {
      port: peer.options.port,
      headers: () => ({
        host: `127.0.0.1:${peer.options.port}`,
        authorization: `Basic ${Buffer.from(`${peerAdmin.username}:${peerAdmin.password}`).toString('base64')}`,
      }),
    };
    const peerUser = { username: 'bench-user', password: randomBytes(18).toString('base64url') };
    const peerAdminCaller = new Caller(peerAdminTarget);
    await peerAdminCaller.json('POST', '/api/2.0/mlflow/users/create', peerUser);
    peerAdminCaller.close();
    const peerTarget: Target = {
      port: peer.options.port,
      headers: () => ({
        host: `127.0.0.1:${peer.options.port}`,
        authorization: `Basic ${Buffer.from(`${peerUser.username}:${peerUser.password}`).toString('base64')}`,
      }),
    };

    log(`seeding ${options.runs} runs with params, metrics and tags`);
    const floorCaller = new Caller(floorTarget, 8);
    const searchExperiment = await seed(floorCaller, options.runs, pythonBin, databaseUri(platform), 'mlflow-artifacts:');
    floorCaller.close();

    // The rendered server is private by default: the admin shares the seeded experiment for reading.
    const iapEmail = 'bench@example.com';
    const iapTarget = targets.iap(iapEmail);
    const admin = new Caller(targets.basic(platform.admin()));
    const iapCaller = new Caller(iapTarget);
    await iapCaller.json('GET', '/api/2.0/mlflow/experiments/search?max_results=1'); // the first sign-in makes the user
    for (const username of [workspace.username, iapEmail])
      await admin.json('POST', '/api/3.0/mlflow/users/permissions/grant', {
        username,
        resource_type: 'experiment',
        resource_id: searchExperiment,
        permission: 'READ',
      });
    admin.close();

    const prepared: Prepared[] = [];
    for (const [id, target] of [
      ['workspace', targets.basic(workspace)],
      ['iap', iapTarget],
      ['floor', floorTarget],
      ['peer', peerTarget],
      ['floor-tls', { port: floorTls.options.port, tls: targets.tls, headers: () => ({ host: `127.0.0.1:${floorTls.options.port}` }) }],
    ] as [ConfigurationId, Target][]) {
      const caller = id === 'iap' ? iapCaller : new Caller(target);
      prepared.push({ id, target, ...(await ownRun(caller, id)) });
      caller.close();
    }
    const rounds: Measured[][] = [];
    for (let round = 1; round <= options.repeat; round++) {
      if (options.repeat > 1) log(`round ${round} of ${options.repeat}`);
      rounds.push(await measureWorkloads(prepared, searchExperiment, options));
    }
    return medianOfRounds(rounds);
  } finally {
    for (const server of plain) await server.stop();
    await stopPlatform(platform);
  }
}

/** The worker sweep: the rendered server as the workspace user, per worker count, on one core. */
async function sweep(config: Config, options: Options, pythonBin: string, cpus: string | undefined): Promise<void> {
  const rows: string[] = [];
  for (const workers of options.workers!) {
    let platform: LocalPlatform | undefined;
    try {
      log(`workers ${workers}: starting the rendered MLflow`);
      platform = await startPlatform({ ...config, mlflow: { ...config.mlflow, workers } }, options, pythonBin);
      if (cpus) pinTree(platform.serverContainer!.process.pid!, cpus);
      const workspace = platform.workspaceAccounts()[0];
      const target = platformTargets(platform).basic(workspace);
      const caller = new Caller(target, 8);
      const searchExperiment = await seed(caller, options.runs, pythonBin, databaseUri(platform), 'mlflow-artifacts:');
      const p: Prepared = { id: 'workspace', target, ...(await ownRun(caller, 'sweep')) };
      caller.close();
      const cells: string[] = [];
      for (const workload of WORKLOADS.filter((w) => !w.transfer)) {
        const m = await measure(p, workload, searchExperiment, Buffer.alloc(0), options);
        cells.push(`${m.perSecond.toFixed(1)}/s p50 ${m.p50.toFixed(1)} ms p99 ${m.p99.toFixed(1)} ms`);
      }
      rows.push(`| ${workers} | ${cells.join(' | ')} |`);
      log(rows[rows.length - 1]);
    } finally {
      await stopPlatform(platform);
    }
  }
  const header = WORKLOADS.filter((w) => !w.transfer).map((w) => w.label);
  process.stdout.write(
    [
      `Worker sweep: the rendered server as a workspace user, ${cpus ? `on core ${cpus}` : 'unpinned'}, concurrency ${options.concurrency}`,
      '',
      `| workers | ${header.join(' | ')} |`,
      `|---|${header.map(() => '---').join('|')}|`,
      ...rows,
      '',
    ].join('\n'),
  );
}

async function main(): Promise<void> {
  const started = Date.now();
  const options = parseOptions(process.argv.slice(2));
  const configFile = options.configFile ? path.resolve(process.env.INIT_CWD ?? process.cwd(), options.configFile) : undefined;
  const config = loadConfig(configFile);
  if (config.database.mode !== 'cloudsql')
    throw new Error(
      `${options.configFile}: database.mode is ${config.database.mode}; bench:server runs the cloudsql render (the floor and the peer share its database)`,
    );
  const pythonBin: string = ensurePythonEnv((line: string) => log(line));
  const cpus = serverCpus();
  if (cpus) pinSelf(cpus.others);
  log(
    cpus
      ? `servers on core ${cpus.server}; PostgreSQL and the load generator on ${cpus.others}`
      : 'one core: nothing pinned, the figures mix server and load generator',
  );
  try {
    if (options.workers) return await sweep(config, options, pythonBin, cpus?.server);
    const measured = await compare(config, options, pythonBin, cpus?.server);
    const seconds = (Date.now() - started) / 1000;
    const report = formatReport(measured, {
      seconds,
      cpus: cpus ? `server on 1 core, load generator and PostgreSQL on ${cpus.othersCount}` : 'unpinned',
      concurrency: options.concurrency,
      runs: options.runs,
      rounds: options.repeat,
      configuration: options.configFile ?? 'the embedded default config',
    });
    process.stdout.write(`${report}\n`);
    if (options.write) writeReport(report);
  } finally {
    removeTempDirs();
  }
}

main().catch((error) => {
  process.stderr.write(`bench:server: ${(error as Error).message}\n`);
  process.exit(1);
});

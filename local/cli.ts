/**
 * `npm run local [-- --config FILE] [--postgres 15|16|17]`: the rendered MLflow of a config, started
 * on this machine (local/platform.ts), loopback only. Prints one JSON line once it serves, then runs
 * until Ctrl-C or SIGTERM, when it stops every process and removes everything it made.
 *
 * `npm run local -- jwt --key FILE --email EMAIL [--audience AUD]`: a token as IAP would sign it, with
 * the key of a running `npm run local` (the `iapKey` file it printed); send it as
 * x-goog-iap-jwt-assertion from the load balancer's address (`loadBalancerAddress`).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConfigError, loadConfig } from '../model/load';
import { iapAudience, IapSigner } from './iap';
import { LOAD_BALANCER_ADDRESS, LocalPlatform } from './platform';
import type { Major } from './postgres';
import { removeTempDirs } from './postgres';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain Node script, shared with npm test
const { ensurePythonEnv } = require('../scripts/python-env.js');

const USAGE =
  'usage: npm run local [-- --config FILE] [--postgres 15|16|17] [--verbose]\n       npm run local -- jwt --key FILE --email EMAIL [--audience AUD]';

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const value = args[at + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value\n${USAGE}`);
  return value;
}

function jwt(args: string[]): void {
  const key = option(args, '--key');
  const email = option(args, '--email');
  if (!key || !email) throw new Error(`jwt needs --key and --email\n${USAGE}`);
  const saved = JSON.parse(fs.readFileSync(key, 'utf8'));
  const signer = IapSigner.fromJSON(saved.signer);
  process.stdout.write(`${signer.mint({ email, aud: option(args, '--audience') ?? saved.audience })}\n`);
}

async function serve(args: string[]): Promise<void> {
  const known = ['--config', '--postgres', '--verbose'];
  const unknown = args.filter((a, i) => a.startsWith('--') && !known.includes(a) && !(i > 0 && ['--config', '--postgres'].includes(args[i - 1])));
  if (unknown.length > 0) throw new Error(`unknown option ${unknown[0]}\n${USAGE}`);
  const configFile = option(args, '--config') ?? process.env.MLFLOW_GKE_CONFIG;
  const config = loadConfig(configFile ? path.resolve(process.env.INIT_CWD ?? process.cwd(), configFile) : undefined);
  const major = Number(option(args, '--postgres') ?? 15);
  if (![15, 16, 17].includes(major)) throw new Error(`--postgres ${major}: must be 15, 16 or 17\n${USAGE}`);
  const verbose = args.includes('--verbose');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-local-'));
  const platform = new LocalPlatform({
    config,
    dir,
    pythonBin: ensurePythonEnv((line: string) => process.stderr.write(`${line}\n`)),
    postgres: major as Major,
    onLine: verbose ? (line) => process.stderr.write(`${line}\n`) : undefined,
  });
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('local: stopping\n');
    await platform.stop().catch((error) => process.stderr.write(`local: ${error.message}\n`));
    fs.rmSync(dir, { recursive: true, force: true });
    removeTempDirs();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  process.stderr.write(`local: starting the rendered MLflow of ${configFile ?? 'the embedded default config'} (PostgreSQL ${major}) in ${dir}\n`);
  try {
    await platform.start();
  } catch (error) {
    process.stderr.write(`local: ${(error as Error).message}\n`);
    return stop(1);
  }
  if (stopping) return;
  const audience = iapAudience(config.project.number, '1');
  const keyFile = path.join(dir, 'iap-key.json');
  fs.writeFileSync(keyFile, JSON.stringify({ signer: platform.signer.toJSON(), audience }), { mode: 0o600 });
  const host = platform.serviceHosts[platform.serviceHosts.length - 1];
  const workspaceUsers = platform.workspaceAccounts();
  const metrics = platform.metricsAccount();
  const line = {
    url: `https://${host}:5000`,
    connectTo: `127.0.0.1:${platform.port}`,
    caFile: platform.caFile,
    curl: `curl --cacert ${platform.caFile} --connect-to ${host}:5000:127.0.0.1:${platform.port} -u USER:PASSWORD https://${host}:5000/api/2.0/mlflow/experiments/search?max_results=5`,
    admin: platform.admin(),
    workspaceUsers: workspaceUsers.map(({ username, password }) => ({ username, password })),
    metrics: { username: metrics.username, password: metrics.password },
    iap: {
      publicHost: platform.publicHost,
      loadBalancerAddress: LOAD_BALANCER_ADDRESS,
      iapKey: keyFile,
      mint: `npm run --silent local -- jwt --key ${keyFile} --email EMAIL`,
      // As the load balancer sends it: from its address, with the public Host header.
      curl: `curl --cacert ${platform.caFile} --interface ${LOAD_BALANCER_ADDRESS} --connect-to ${host}:5000:127.0.0.1:${platform.port} -H "Host: ${platform.publicHost}" -H "x-goog-iap-jwt-assertion: $(npm run --silent local -- jwt --key ${keyFile} --email you@example.com)" https://${host}:5000/api/2.0/mlflow/experiments/search?max_results=5`,
    },
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  try {
    if (args[0] === 'jwt') jwt(args.slice(1));
    else await serve(args);
  } catch (error) {
    process.stderr.write(error instanceof ConfigError ? `${error.message}\n` : `local: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

void main();

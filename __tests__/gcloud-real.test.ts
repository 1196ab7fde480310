/**
 * Every gcloud command of dist/bootstrap/gcp.sh, run through the real Google Cloud CLI offline
 * (support/gcloud.ts): each must parse and stop at the missing account, never at an unknown command,
 * flag or choice. Needs gcloud: skipped with a mark outside CI when it is missing, failed under CI=true.
 * The commands are the ones the rendered script runs, recorded by a stand-in gcloud, so they carry the
 * config's own values; the fake-gcloud tests of bootstrap.test.ts check order and idempotence.
 */
import * as http from 'http';
import { BOOTSTRAP_PATH } from '../synth/bootstrap/gcp-script';
import { checkWithGcloud, GCLOUD_SKIP_MARK, gcloudCallsOfScript, gcloudTest, gcloudTestFor, rejected, verdictOf } from './support/gcloud';
import { configsUnderTest, render } from './support/render';
import { gcloudCommandsOf } from './support/runbook';
import { RUNBOOK_PATH } from '../synth/runbook/runbook';

/** A Config Connector cluster in another project: the second project of the identity step. */
const MANAGEMENT_PROJECT = 'mlflow-management-1';
/** A billing account ID as Cloud Billing writes them (cloud.google.com/billing/docs/how-to/find-billing-account-id). */
const BILLING_ACCOUNT = '01A2B3-C4D5E6-F7A8B9';

/**
 * The gcloud commands of the rendered bootstrap script of every config, with the Config Connector
 * cluster in the project or in another, and the billing hint it prints. Commands that differ only in
 * values the server checks (which project, account or role) are kept once: gcloud parses them alike.
 */
function bootstrapCommands(): { all: number; distinct: string[][] } {
  const shapes = new Map<string, string[]>();
  let all = 0;
  for (const { name, config } of configsUnderTest()) {
    const script = render(config).files.find((f) => f.path === BOOTSTRAP_PATH)!.content;
    const argvs: string[][] = [];
    for (const env of [{}, { KCC_CLUSTER_PROJECT: MANAGEMENT_PROJECT }] as Record<string, string>[]) {
      const run = gcloudCallsOfScript(script, env);
      if (run.status !== 0) throw new Error(`bootstrap script of config ${name} failed against the recording gcloud:\n${run.stderr}`);
      argvs.push(...run.calls);
    }
    // The command the script tells the operator to run when billing is off.
    const hint = /'gcloud (billing projects link \$\{PROJECT_ID\} --billing-account=ACCOUNT_ID)'/.exec(script);
    if (!hint) throw new Error(`bootstrap script of config ${name}: the billing hint is missing`);
    argvs.push(hint[1].replace('${PROJECT_ID}', config.project.id).replace('ACCOUNT_ID', BILLING_ACCOUNT).split(' '));
    all += argvs.length;
    const server = (arg: string) =>
      arg
        .split(config.project.id)
        .join('PROJECT')
        .split(MANAGEMENT_PROJECT)
        .join('PROJECT')
        .replace(/^--role=roles\/.*/, '--role=ROLE');
    for (const argv of argvs) shapes.set(JSON.stringify(argv.map(server)), argv);
  }
  return { all, distinct: [...shapes.values()] };
}

describe('the bootstrap script against the real gcloud', () => {
  gcloudTest('every gcloud command it runs (every config, one project or two) parses, and stops only for want of an account', async () => {
    const { all, distinct } = bootstrapCommands();
    expect(all).toBeGreaterThan(50);
    const verdicts = await checkWithGcloud(distinct, 2);
    expect(rejected(verdicts)).toEqual([]);
    // The commands, as gcloud itself names them.
    expect([...new Set(verdicts.map((v) => v.command))].sort()).toEqual([
      'billing projects describe',
      'billing projects link',
      // The custom roles (cloudsql configs): the recording gcloud finds them, so the script updates them.
      'iam roles describe',
      'iam roles update',
      'iam service-accounts add-iam-policy-binding',
      'iam service-accounts create',
      'iam service-accounts describe',
      'projects add-iam-policy-binding',
      'projects get-iam-policy',
      'services enable',
      'storage service-agent',
    ]);
  });
});

describe('the runbook (dist/DEPLOY.md) against the real gcloud', () => {
  gcloudTest("every gcloud command of every config's runbook parses, and stops only for want of an account", async () => {
    const shapes = new Map<string, string[]>();
    for (const { config } of configsUnderTest()) {
      const book = render(config).files.find((f) => f.path === RUNBOOK_PATH)!.content;
      for (const argv of gcloudCommandsOf(book)) shapes.set(JSON.stringify(argv.map((a) => a.split(config.project.id).join('PROJECT'))), argv);
    }
    const verdicts = await checkWithGcloud([...shapes.values()], 2);
    expect(rejected(verdicts)).toEqual([]);
    expect([...new Set(verdicts.map((v) => v.command))].sort()).toEqual([
      'compute addresses describe',
      'compute backend-services list',
      'container clusters create-auto',
      'container clusters get-credentials',
      'secrets create',
      'secrets versions access',
      'services enable',
      // The cloudsql rollback to the migration's pre-migration backup (synth/runbook/upgrade.ts).
      'sql backups restore',
      'storage cp',
    ]);
  });
});

describe('the offline gcloud check itself', () => {
  gcloudTest('rejects an unknown command, an unknown flag and a value outside a flag’s choices', async () => {
    const verdicts = await checkWithGcloud(
      [
        ['services', 'enabel', 'iamcredentials.googleapis.com', '--project=p-1'],
        ['iam', 'service-accounts', 'describe', 'a@p-1.iam.gserviceaccount.com', '--project=p-1', '--no-such-flag'],
        ['container', 'clusters', 'create', 'c', '--region=europe-west1', '--project=p-1', '--release-channel=weekly'],
        ['services', 'enable', 'iamcredentials.googleapis.com', '--project=p-1'],
      ],
      2,
    );
    expect(verdicts.map((v) => v.ok)).toEqual([false, false, false, true]);
    expect(verdicts[0].message).toMatch(/Invalid choice: 'enabel'/);
    expect(verdicts[1].message).toMatch(/unrecognized arguments: --no-such-flag/);
    expect(verdicts[2].message).toMatch(/argument --release-channel: weekly must be one of/);
  });

  test('without gcloud: a failing test that says why under CI=true, a marked skip otherwise', () => {
    const registered: { name: string; fn?: jest.ProvidesCallback; how: string }[] = [];
    const register = (name: string, fn?: jest.ProvidesCallback) => void registered.push({ name, fn, how: 'test' });
    const skip = (name: string, fn?: jest.ProvidesCallback) => void registered.push({ name, fn, how: 'skip' });
    const body = jest.fn();
    gcloudTestFor(undefined, true, register, skip)('checks gcloud', body);
    gcloudTestFor(undefined, false, register, skip)('checks gcloud', body);
    gcloudTestFor('/usr/bin/gcloud', true, register, skip)('checks gcloud', body);
    expect(registered.map((r) => [r.how, r.name])).toEqual([
      ['test', 'checks gcloud'],
      ['skip', `checks gcloud ${GCLOUD_SKIP_MARK}`],
      ['test', 'checks gcloud'],
    ]);
    expect(() => (registered[0].fn as () => void)()).toThrow(/needs the Google Cloud CLI \(gcloud\).*CI=true: never skipped in CI/);
    expect(registered[2].fn).toBe(body);
  });

  test('a stop at the account of another command (a parent group) is no pass', () => {
    const output = 'ERROR: (gcloud.services.list) You do not currently have an active account selected.\n';
    expect(verdictOf(['services', 'list', '--project=p'], output).ok).toBe(true);
    expect(verdictOf(['services', 'enable', 'x'], output).ok).toBe(false);
    expect(verdictOf(['services', 'enable', 'x'], 'ERROR: (gcloud.services) Invalid choice').ok).toBe(false);
  });

  gcloudTest('never asks the metadata server', async () => {
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const [verdict] = await checkWithGcloud([['services', 'enable', 'iamcredentials.googleapis.com', '--project=p-1']], 1, `127.0.0.1:${port}`);
      expect(verdict.ok).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(requests).toEqual([]);
  });
});

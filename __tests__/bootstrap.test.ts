/**
 * dist/bootstrap/gcp.sh: rendered from the config for every example, shellcheck-clean, outside what
 * `kubectl apply -f dist` reads, and idempotent. The script is run for real against a stand-in gcloud
 * that keeps state, so a second run shows what a re-run changes (nothing).
 */
import { spawnSync } from 'child_process';
import { buildModel } from '../model';
import { platformCustomRoles } from '../charts/gcp';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BOOTSTRAP_APIS, BOOTSTRAP_PATH, bootstrapScript, KCC_IDENTITY_APIS, shellQuote } from '../synth/bootstrap/gcp-script';
import {
  ACCOUNT_ADMIN,
  ACCOUNT_USER,
  configConnectorAccountGrants,
  configConnectorRoles,
  GRANT_ROLES,
  grantableProjectRoles,
  KIND_ROLES,
  platformAccounts,
} from '../synth/bootstrap/config-connector-roles';
import { iamAdminCondition, PROJECT_IAM_ADMIN } from '../synth/bootstrap/gcp-script';
import { KUSTOMIZATION_FILE } from '../synth/render';
import { platformNames } from '../model/names';
import type { Config } from '../config/schema';
import { configsUnderTest, configWith, Manifest, PROJECT_ROOT, render } from './support/render';
import { shellcheckBin } from './support/python-env';

const rendered = configsUnderTest().map(({ name, config }) => ({ name, config, ...render(config) }));
const scriptOf = (files: { path: string; content: string }[]) => files.find((f) => f.path === BOOTSTRAP_PATH)!.content;

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-bootstrap-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A gcloud that records its calls and remembers the service accounts and custom roles it created. */
const FAKE_GCLOUD = `#!/usr/bin/env bash
printf '%s\\n' "$*" >>"$FAKE_STATE/calls"
case "$1 $2 $3" in
  "billing projects describe") echo "\${FAKE_BILLING:-True}" ;;
  "iam service-accounts describe")
    # The Compute Engine default account appears with the Compute Engine API, unless FAKE_NO_DEFAULT_ACCOUNT.
    if [[ "$4" == *-compute@developer.gserviceaccount.com && -z "\${FAKE_NO_DEFAULT_ACCOUNT:-}" ]]; then exit 0; fi
    [[ -f "$FAKE_STATE/sa-\${4%%@*}" ]] || { echo "NOT_FOUND: $4" >&2; exit 1; } ;;
  "iam service-accounts create") touch "$FAKE_STATE/sa-$4" ;;
  "iam roles describe") [[ -f "$FAKE_STATE/role-$4" ]] || { echo "NOT_FOUND: $4" >&2; exit 1; } ;;
  "iam roles create") touch "$FAKE_STATE/role-$4" ;;
  "storage service-agent") echo "service-1@gs-project-accounts.iam.gserviceaccount.com" ;;
  "projects get-iam-policy "*) [[ ! -f "$FAKE_STATE/policy" ]] || cat "$FAKE_STATE/policy" ;;
esac
`;

function runScript(script: string, env: Record<string, string> = {}) {
  const bin = path.join(tmp, 'bin');
  const state = path.join(tmp, 'state');
  fs.mkdirSync(bin, { recursive: true });
  fs.mkdirSync(state, { recursive: true });
  fs.writeFileSync(path.join(bin, 'gcloud'), FAKE_GCLOUD, { mode: 0o755 });
  const file = path.join(tmp, 'gcp.sh');
  fs.writeFileSync(file, script);
  fs.rmSync(path.join(state, 'calls'), { force: true });
  const result = spawnSync('bash', [file], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_STATE: state, ...env } });
  const calls = fs.existsSync(path.join(state, 'calls')) ? fs.readFileSync(path.join(state, 'calls'), 'utf8').trim().split('\n') : [];
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls };
}

const kccOf = (objects: Manifest[]) => objects.filter((o) => String(o.apiVersion).split('/')[0].endsWith('.cnrm.cloud.google.com'));

describe.each(rendered)('bootstrap script of config $name', ({ config, files, objects }) => {
  test('is rendered into dist/bootstrap/, which kubectl apply -f dist does not read and the Kustomization does not list', () => {
    const script = scriptOf(files);
    expect(script.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(script).toMatch(/^set -euo pipefail$/m);
    expect(BOOTSTRAP_PATH).toBe('bootstrap/gcp.sh');
    expect(files.find((f) => f.path === KUSTOMIZATION_FILE)!.content).not.toMatch(/bootstrap/);
    // The whole script is the template with the values block filled in.
    const template = fs.readFileSync(path.join(PROJECT_ROOT, 'synth/bootstrap/gcp.sh'), 'utf8');
    const outside = (text: string) => text.replace(/(# --- values from the config[^\n]*\n)[\s\S]*?(# --- end of values ---)/, '$1$2');
    expect(outside(script)).toBe(outside(template));
  });

  test('its values come from the config and its roles from the rendered Config Connector objects', () => {
    const names = platformNames(config);
    const script = scriptOf(files);
    expect(script).toContain(`PROJECT_ID=${shellQuote(config.project.id)}\n`);
    expect(script).toContain(`KCC_ACCOUNT_ID=${shellQuote(names.serviceAccounts.configConnector.accountId)}\n`);
    expect(script).toContain(`KCC_NAMESPACE=${shellQuote(names.namespaces.gcp)}\n`);
    expect(script).toContain(`APIS=(${BOOTSTRAP_APIS.map(shellQuote).join(' ')})\n`);
    const roles = [...configConnectorRoles(kccOf(objects)).keys()];
    expect(script).toContain(`KCC_ROLES=(${roles.map(shellQuote).join(' ')})\n`);
    expect(roles.length).toBeGreaterThan(10);
    expect(script).toContain(`KCC_IDENTITY_APIS=(${KCC_IDENTITY_APIS.map(shellQuote).join(' ')})\n`);
  });

  test('shellcheck finds nothing in the rendered script', () => {
    const file = path.join(tmp, 'gcp.sh');
    fs.writeFileSync(file, scriptOf(files));
    const result = spawnSync(shellcheckBin(), ['--format=gcc', file], { encoding: 'utf8' });
    if (result.error)
      throw new Error(
        `shellcheck did not run (${result.error.message}): the Python environment of python/requirements.lock brings it (node scripts/python-env.js)`,
      );
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  test('run twice: checks billing, enables the APIs, creates the accounts once, grants every role on the project or on one account, and the Workload Identity binding', () => {
    const names = platformNames(config);
    const project = config.project.id;
    const email = names.serviceAccounts.configConnector.email;
    const kcc = kccOf(objects);
    const roles = [...configConnectorRoles(kcc).keys()];
    const accounts = platformAccounts(kcc);
    const condition = iamAdminCondition(kcc);
    const first = runScript(scriptOf(files));
    expect(first.stderr.match(/^gcp\.sh: .*/m)).toBeNull();
    expect(first.status).toBe(0);
    const member = `serviceAccount:${project}.svc.id.goog[cnrm-system/cnrm-controller-manager-${names.namespaces.gcp}]`;
    const expected = (create: boolean) => [
      `services enable cloudbilling.googleapis.com --project=${project}`,
      `billing projects describe ${project} --format=value(billingEnabled)`,
      `services enable ${BOOTSTRAP_APIS.join(' ')} --project=${project}`,
      `services enable iamcredentials.googleapis.com --project=${project}`,
      `storage service-agent --project=${project}`,
      `iam service-accounts describe ${email} --project=${project}`,
      ...(create
        ? [
            `iam service-accounts create ${names.serviceAccounts.configConnector.accountId} --project=${project} --display-name=Config Connector (${names.namespaces.gcp}) --description=Config Connector acts as this account in namespace ${names.namespaces.gcp} (mlflow-gke)`,
          ]
        : []),
      ...accounts.flatMap((a) => [
        `iam service-accounts describe ${a}@${project}.iam.gserviceaccount.com --project=${project}`,
        ...(create
          ? [`iam service-accounts create ${a} --project=${project} --display-name=${a} --description=mlflow-gke; Config Connector sets its description`]
          : []),
      ]),
      ...configConnectorAccountGrants(kcc).map(
        (g) =>
          `iam service-accounts add-iam-policy-binding ${g.accountId}@${project}.iam.gserviceaccount.com --project=${project} --member=serviceAccount:${email} --role=${g.role} --condition=None --format=none`,
      ),
      `iam service-accounts describe ${config.project.number}-compute@developer.gserviceaccount.com --project=${project}`,
      `iam service-accounts add-iam-policy-binding ${config.project.number}-compute@developer.gserviceaccount.com --project=${project} --member=serviceAccount:${email} --role=roles/iam.serviceAccountUser --condition=None --format=none`,
      // The custom roles the render binds: created once, then set to the render's on every run.
      ...platformCustomRoles(buildModel(config)).flatMap((r) => [
        `iam roles describe ${r.roleId} --project=${project}`,
        `iam roles ${create ? 'create' : 'update'} ${r.roleId} --project=${project} --title=${r.title} --description=${r.description} --permissions=${r.permissions.join(',')} --stage=GA --quiet --format=none`,
      ]),
      ...roles.map(
        (role) =>
          `projects add-iam-policy-binding ${project} --member=serviceAccount:${email} --role=${role} --condition=${
            role === PROJECT_IAM_ADMIN ? `^;^expression=${condition.expression};title=${condition.title};description=${condition.description}` : 'None'
          } --format=none`,
      ),
      `projects get-iam-policy ${project} --flatten=bindings[].members --filter=bindings.members=serviceAccount:${email} --format=value(bindings.role,bindings.condition.title)`,
      `iam service-accounts add-iam-policy-binding ${email} --project=${project} --member=${member} --role=roles/iam.workloadIdentityUser --condition=None --format=none`,
    ];
    expect(first.calls).toEqual(expected(true));
    // Each command is printed before it runs.
    const echoed = first.stderr.split('\n').filter((l) => l.startsWith('+ gcloud ')).length;
    expect(echoed).toBe(first.calls.length);
    const second = runScript(scriptOf(files));
    expect(second.status).toBe(0);
    expect(second.calls).toEqual(expected(false));
    expect(second.stdout).toMatch(/exists already/);
  });
});

describe('bootstrap script', () => {
  const config = configWith({});
  const { files } = render(config);

  test('stops before changing anything when billing is not enabled, and says how to enable it', () => {
    const result = runScript(scriptOf(files), { FAKE_BILLING: 'False' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /gcp\.sh: billing is not enabled on mlflow-gke-example \(billingEnabled: False\): link a billing account with 'gcloud billing projects link mlflow-gke-example --billing-account=ACCOUNT_ID'/,
    );
    expect(result.calls).toEqual([
      'services enable cloudbilling.googleapis.com --project=mlflow-gke-example',
      'billing projects describe mlflow-gke-example --format=value(billingEnabled)',
    ]);
  });

  test('KCC_CLUSTER_PROJECT names the Workload Identity pool of a Config Connector cluster in another project', () => {
    const result = runScript(scriptOf(files), { KCC_CLUSTER_PROJECT: 'management-project' });
    expect(result.status).toBe(0);
    // The token exchange of Workload Identity needs the IAM Service Account Credentials API in the
    // project of the account and in the project of the cluster, before the account is made.
    const identity = result.calls.filter((c) => c.startsWith('services enable iamcredentials.googleapis.com '));
    expect(identity).toEqual([
      'services enable iamcredentials.googleapis.com --project=mlflow-gke-example',
      'services enable iamcredentials.googleapis.com --project=management-project',
    ]);
    expect(result.calls.indexOf(identity[1])).toBeLessThan(result.calls.findIndex((c) => c.startsWith('iam service-accounts ')));
    expect(result.calls[result.calls.length - 1]).toContain(
      '--member=serviceAccount:management-project.svc.id.goog[cnrm-system/cnrm-controller-manager-mlflow-gcp]',
    );
  });

  test("Config Connector's own identity: the IAM Service Account Credentials API, each entry cited", () => {
    expect(KCC_IDENTITY_APIS).toEqual(['iamcredentials.googleapis.com']);
    const source = fs.readFileSync(path.join(PROJECT_ROOT, 'synth/bootstrap/gcp-script.ts'), 'utf8');
    const doc = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*export const KCC_IDENTITY_APIS/.exec(source)![1];
    expect(doc).toContain('https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity#before_you_begin');
    for (const api of KCC_IDENTITY_APIS) expect(doc).toContain(`- ${api.split('.')[0]}:`);
  });

  test('the template itself refuses to run', () => {
    const result = runScript(fs.readFileSync(path.join(PROJECT_ROOT, 'synth/bootstrap/gcp.sh'), 'utf8'));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/this is the template: run the copy that npm run synth writes to dist\/bootstrap\/gcp\.sh/);
    expect(result.calls).toEqual([]);
  });

  test('values are quoted for bash: a quote in a value stays a quote', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    const echo = spawnSync('bash', ['-c', `v=${shellQuote("a'b $c")}; printf %s "$v"`], { encoding: 'utf8' });
    expect(echo.stdout).toBe("a'b $c");
  });
});

describe('Config Connector roles', () => {
  const kinds = (config: Config) => kccOf(render(config).objects);

  test('every Config Connector kind of every example render has a role, and a new kind stops the render', () => {
    for (const { objects } of rendered) expect(() => configConnectorRoles(kccOf(objects))).not.toThrow();
    const unknown = { apiVersion: 'pubsub.cnrm.cloud.google.com/v1beta1', kind: 'PubSubTopic', metadata: { name: 't' } };
    expect(() => configConnectorRoles([unknown])).toThrow(
      /PubSubTopic t: no Config Connector role is known for this kind \(synth\/bootstrap\/config-connector-roles\.ts, KIND_ROLES\)/,
    );
    const grant = {
      apiVersion: 'iam.cnrm.cloud.google.com/v1beta1',
      kind: 'IAMPolicyMember',
      metadata: { name: 'g' },
      spec: { resourceRef: { kind: 'PubSubTopic' } },
    };
    expect(() => configConnectorRoles([grant])).toThrow(/no Config Connector role is known for grants on PubSubTopic/);
  });

  test('least privilege follows the render: no Cloud SQL or Service Networking roles without Cloud SQL', () => {
    const sql = configConnectorRoles(kinds(configWith({ database: { mode: 'cloudsql' } })));
    const sts = configConnectorRoles(kinds(configWith({ database: { mode: 'statefulset' } })));
    expect(sql.get('roles/cloudsql.admin')).toEqual(['SQLDatabase', 'SQLInstance', 'SQLUser']);
    expect(sql.get('roles/servicenetworking.networksAdmin')).toEqual(['ServiceNetworkingConnection']);
    expect(sts.has('roles/cloudsql.admin')).toBe(false);
    expect(sts.has('roles/servicenetworking.networksAdmin')).toBe(false);
  });

  // Role names as Google lists them: cloud.google.com/iam/docs/roles-permissions/<service>; Cluster
  // Admin manages clusters only, and node service accounts also need Service Account User
  // (roles-permissions/container: "To set a service account on nodes, you must also have the Service
  // Account User role (roles/iam.serviceAccountUser)").
  test('the roles of the default render, with the kinds that need each', () => {
    expect(Object.fromEntries(configConnectorRoles(kinds(configWith({}))))).toEqual({
      'roles/cloudkms.admin': ['IAMPolicyMember on KMSCryptoKey', 'KMSCryptoKey', 'KMSKeyRing'],
      'roles/cloudsql.admin': ['SQLDatabase', 'SQLInstance', 'SQLUser'],
      'roles/compute.networkAdmin': ['ComputeAddress', 'ComputeNetwork', 'ComputeRouter', 'ComputeRouterNAT', 'ComputeSSLPolicy', 'ComputeSubnetwork'],
      'roles/container.clusterAdmin': ['ContainerCluster', 'ContainerNodePool'],
      'roles/logging.configWriter': ['LoggingLogBucket', 'LoggingLogSink'],
      'roles/monitoring.alertPolicyEditor': ['MonitoringAlertPolicy'],
      'roles/monitoring.dashboardEditor': ['MonitoringDashboard'],
      'roles/monitoring.notificationChannelEditor': ['MonitoringNotificationChannel'],
      'roles/monitoring.uptimeCheckConfigEditor': ['MonitoringUptimeCheckConfig'],
      'roles/resourcemanager.projectIamAdmin': ['IAMAuditConfig', 'IAMPolicyMember on Project'],
      'roles/servicenetworking.networksAdmin': ['ServiceNetworkingConnection'],
      'roles/serviceusage.serviceUsageAdmin': ['Service', 'ServiceIdentity'],
      'roles/storage.admin': ['IAMPolicyMember on StorageBucket', 'StorageBucket'],
    });
    for (const role of [...Object.values(KIND_ROLES), ...Object.values(GRANT_ROLES)].flat()) expect(role).toMatch(/^roles\/[a-z]+\.[a-zA-Z]+$/);
    // No basic role: never owner or editor.
    expect([...Object.values(KIND_ROLES), ...Object.values(GRANT_ROLES)].flat()).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/^roles\/(owner|editor)$/)]),
    );
  });

  // roles/iam.serviceAccountAdmin holds iam.serviceAccounts.setIamPolicy and roles/iam.serviceAccountUser
  // iam.serviceAccounts.actAs (cloud.google.com/iam/docs/roles-permissions/iam): project-wide, either
  // would let Config Connector act as any account of the project.
  test('no render gives Config Connector a project-wide service account role: they are granted on its own accounts only', () => {
    for (const { objects } of rendered) {
      const kcc = kccOf(objects);
      const project = [...configConnectorRoles(kcc).keys()];
      expect(project).not.toEqual(expect.arrayContaining([expect.stringMatching(/^roles\/iam\./)]));
      const grants = configConnectorAccountGrants(kcc);
      const accounts = platformAccounts(kcc);
      // Admin on every account the render declares, and on nothing else.
      expect(grants.filter((g) => g.role === ACCOUNT_ADMIN).map((g) => g.accountId)).toEqual(accounts);
      // User only on the account the node pools run as.
      const nodeAccounts = [...new Set(kcc.filter((o) => o.kind === 'ContainerNodePool').map((o) => String(o.spec.nodeConfig.serviceAccountRef.name)))];
      expect(grants.filter((g) => g.role === ACCOUNT_USER).map((g) => g.accountId)).toEqual(nodeAccounts);
      expect(nodeAccounts).toHaveLength(1);
    }
  });

  test('a node pool on an account the render does not declare stops synth', () => {
    const pool = {
      apiVersion: 'container.cnrm.cloud.google.com/v1beta1',
      kind: 'ContainerNodePool',
      metadata: { name: 'p' },
      spec: { nodeConfig: { serviceAccountRef: { name: 'elsewhere' } } },
    };
    expect(() => configConnectorAccountGrants([pool])).toThrow(/ContainerNodePool names the service account elsewhere, which the render does not declare/);
  });

  test("Project IAM Admin is conditioned on the roles the render grants on the project, computed from the render's grants", () => {
    for (const { objects, files } of rendered) {
      const kcc = kccOf(objects);
      const granted = [...new Set(kcc.filter((o) => o.kind === 'IAMPolicyMember' && o.spec.resourceRef.kind === 'Project').map((o) => o.spec.role))].sort();
      expect(grantableProjectRoles(kcc)).toEqual(granted);
      const condition = iamAdminCondition(kcc);
      // cloud.google.com/iam/docs/setting-limits-on-granting-roles
      expect(condition.expression).toBe(
        `api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([${granted.map((r) => `'${r}'`).join(', ')}])`,
      );
      expect(condition.title.length).toBeLessThanOrEqual(100);
      expect(scriptOf(files)).toContain(`IAM_ADMIN_CONDITION_TITLE=${shellQuote(condition.title)}\n`);
    }
    const sql = grantableProjectRoles(kinds(configWith({ database: { mode: 'cloudsql' } })));
    expect(sql).toEqual(expect.arrayContaining(['roles/cloudsql.client', 'roles/cloudsql.instanceUser', 'roles/container.defaultNodeServiceAccount']));
    expect(sql).not.toContain('roles/owner');
    // Another list is another title: the script takes back the binding of the old list.
    const sts = kinds(configWith({ database: { mode: 'statefulset' } }));
    expect(iamAdminCondition(sts).title).not.toBe(iamAdminCondition(kinds(configWith({ database: { mode: 'cloudsql' } }))).title);
  });

  test('a re-run takes back the project roles of an earlier, broader run, and keeps the wanted ones', () => {
    const { files, objects } = render(configWith({}));
    const kcc = kccOf(objects);
    const email = platformNames(configWith({})).serviceAccounts.configConnector.email;
    const title = iamAdminCondition(kcc).title;
    const state = path.join(tmp, 'state');
    fs.mkdirSync(state, { recursive: true });
    fs.writeFileSync(
      path.join(state, 'policy'),
      [
        `roles/iam.serviceAccountAdmin\t`,
        `roles/iam.serviceAccountUser\t`,
        `${PROJECT_IAM_ADMIN}\t`,
        `${PROJECT_IAM_ADMIN}\t${title}`,
        `roles/storage.admin\t`,
        `roles/cloudkms.admin\tmlflow-gke-old`,
      ].join('\n') + '\n',
    );
    const run = runScript(scriptOf(files));
    expect(run.status).toBe(0);
    const removals = run.calls.filter((c) => c.startsWith('projects remove-iam-policy-binding '));
    const base = `projects remove-iam-policy-binding mlflow-gke-example --member=serviceAccount:${email}`;
    expect(removals).toEqual([
      `${base} --role=roles/iam.serviceAccountAdmin --condition=None --format=none`,
      `${base} --role=roles/iam.serviceAccountUser --condition=None --format=none`,
      `${base} --role=${PROJECT_IAM_ADMIN} --condition=None --format=none`,
      `${base} --role=roles/cloudkms.admin --all --format=none`,
    ]);
    // --all took the wanted unconditional Cloud KMS binding too: it is added back, after the removal.
    const kms = `projects add-iam-policy-binding mlflow-gke-example --member=serviceAccount:${email} --role=roles/cloudkms.admin --condition=None --format=none`;
    expect(run.calls.lastIndexOf(kms)).toBeGreaterThan(run.calls.indexOf(removals[3]));
  });

  test('without a Compute Engine default account it warns and goes on, after waiting for it a while', () => {
    const { files } = render(configWith({}));
    // Six tries, ten seconds apart: a stand-in sleep keeps the test fast.
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'sleep'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const run = runScript(scriptOf(files), { FAKE_NO_DEFAULT_ACCOUNT: '1' });
    expect(run.status).toBe(0);
    expect(run.calls.filter((c) => c.startsWith('iam service-accounts describe 123456789012-compute@'))).toHaveLength(6);
    expect(run.calls.some((c) => c.startsWith('iam service-accounts add-iam-policy-binding 123456789012-compute@'))).toBe(false);
    expect(run.stderr).toMatch(
      /warning: 123456789012-compute@developer\.gserviceaccount\.com does not exist .*Config Connector cannot create the cluster until it does/,
    );
  });

  test('synth writes the script beside the manifests of the same render', () => {
    const { files } = render(configWith({}));
    expect(
      bootstrapScript(
        buildModel(configWith({})),
        files.flatMap((f) => f.objects ?? []),
      ).content,
    ).toBe(scriptOf(files));
  });
});

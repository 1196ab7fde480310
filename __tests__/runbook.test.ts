/**
 * dist/DEPLOY.md, the runbook rendered from the config (synth/runbook/runbook.ts), for every example
 * config: every name it uses exists in the render (or is a Secret the render reads and the operator
 * creates), every rendered file is applied once and to the right cluster, every Deployment and Job is
 * waited for, every host name gets its DNS record, and every shell block parses (`bash -n`).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { buildModel } from '../model';
import { outOfBandSecrets } from '../policy/rules/references';
import { nextSteps } from '../synth/runbook/next-steps';
import { CERT_MANAGER_VERSION, isKcc, runbook, RUNBOOK_PATH, TRUST_MANAGER_VERSION } from '../synth/runbook/runbook';
import { configsUnderTest, configWith, PROJECT_ROOT, render } from './support/render';
import { gcloudCommandsOf, shellBlocks } from './support/runbook';

const rendered = configsUnderTest().map(({ name, config }) => ({ name, config, ...render(config) }));

describe.each(rendered)('runbook of config $name', ({ config, files }) => {
  const deploy = files.find((f) => f.path === RUNBOOK_PATH)!;
  const others = files.filter((f) => f.path !== RUNBOOK_PATH);
  const book = runbook(buildModel(config), others);
  const objects = others.flatMap((f) => (f.objects ?? []).map((o) => ({ file: f.path, o })));
  const manifests = others.filter((f) => /^\d{4}-.*\.yaml$/.test(f.path));

  test('is written to dist/DEPLOY.md, from the other files of the same render', () => {
    expect(deploy).toBeDefined();
    expect(deploy.content).toBe(book.content);
    expect(deploy.content).toContain(`PROJECT=${config.project.id}\n`);
  });

  test('every name it uses exists in the render, or is a Secret the render reads', () => {
    const secrets = outOfBandSecrets(objects.map(({ file, o }, doc) => ({ file, doc, manifest: o })));
    expect(book.refs.length).toBeGreaterThan(10);
    for (const ref of book.refs) {
      const exists =
        ref.kind === 'Secret'
          ? secrets.some((s) => s.namespace === ref.namespace && s.name === ref.name)
          : objects.some(({ o }) => o.kind === ref.kind && o.metadata.name === ref.name && (o.metadata.namespace ?? undefined) === ref.namespace);
      if (!exists) throw new Error(`the runbook names ${ref.kind} ${ref.namespace ?? ''}/${ref.name}, which the render does not hold`);
      expect(deploy.content).toContain(ref.name);
    }
    // Every dist/ path it names is a file of the render.
    for (const [, file] of deploy.content.matchAll(/dist\/([\w./-]+\.(?:yaml|sh))/g)) expect(others.map((f) => f.path)).toContain(file);
  });

  test('applies every manifest file once, the Config Connector files to $MGMT and the rest to $WORK, namespaces first', () => {
    const applies = [...deploy.content.matchAll(/^kubectl --context "\$(MGMT|WORK)" apply -f dist\/(\d{4}-[\w-]+\.yaml)$/gm)].map((m) => ({
      to: m[1],
      file: m[2],
    }));
    expect(applies.map((a) => a.file).sort()).toEqual(manifests.map((f) => f.path).sort());
    for (const a of applies) {
      const kcc = (manifests.find((f) => f.path === a.file)!.objects ?? []).some(isKcc);
      expect([a.file, a.to]).toEqual([a.file, kcc ? 'MGMT' : 'WORK']);
    }
    const work = applies.filter((a) => a.to === 'WORK');
    expect(work[0].file).toMatch(/namespaces/);
    // The Config Connector files before the workload cluster exists; cert-manager before its kinds.
    const at = (text: string) => deploy.content.indexOf(text);
    const cluster = objects.find(({ o }) => o.kind === 'ContainerCluster')!.o.metadata.name;
    expect(at('apply -f dist/' + applies.find((a) => a.to === 'MGMT')!.file)).toBeLessThan(at(`get-credentials ${cluster} `));
    expect(at(`get-credentials ${cluster} `)).toBeLessThan(at(`apply -f dist/${work[0].file}`));
    expect(at('helm install cert-manager')).toBeLessThan(at(`apply -f dist/${work[1].file}`));
    // trust-manager after cert-manager (its webhook certificate), before the Bundle is applied.
    expect(at('helm install cert-manager')).toBeLessThan(at('helm install trust-manager'));
    expect(at('helm install trust-manager')).toBeLessThan(at(`apply -f dist/${work[1].file}`));
  });

  test("installs trust-manager for the render's Bundle: its trust namespace, the one Secret it may write, its target namespaces, then waits for it", () => {
    const bundle = objects.find(({ o }) => o.kind === 'Bundle')!.o;
    const install = deploy.content.split('\n').find((l) => l.startsWith('helm install trust-manager'))!;
    const ns = buildModel(config).names.tls.certManagerNamespace;
    expect(install).toContain(`--namespace ${ns} --version ${TRUST_MANAGER_VERSION} `);
    expect(install).toContain(`--set app.trust.namespace=${ns} `);
    expect(install).toContain(`--set secretTargets.enabled=true --set 'secretTargets.authorizedSecrets={${bundle.metadata.name}}'`);
    expect(install).toContain(`--set 'app.targetNamespaces={${bundle.spec.target.namespaceSelector.matchExpressions[0].values.join(',')}}' --wait`);
    expect(deploy.content).toContain(`wait --for=condition=Synced bundle/${bundle.metadata.name} `);
  });

  test('creates every Secret the render reads, with namespace, name and keys, and says which must match', () => {
    const secrets = outOfBandSecrets(objects.map(({ file, o }, doc) => ({ file, doc, manifest: o })));
    for (const s of secrets) {
      const create = new RegExp(`create secret generic ${s.name} .*`, 'g');
      const lines = [...deploy.content.matchAll(create)].map((m) => m[0]);
      expect(lines.length).toBeGreaterThan(0);
      expect(deploy.content).toContain(`| \`${s.namespace}\` | \`${s.name}\` | ${s.keys.map((k) => `\`${k}\``).join(', ')} |`);
      for (const key of s.keys) expect(lines.join('\n')).toMatch(new RegExp(`--from-(file|literal)=${key}=`));
    }
    const shared = secrets.filter((s) => secrets.filter((t) => t.name === s.name).length > 1);
    for (const s of shared) expect(deploy.content).toMatch(new RegExp(`\\| \`${s.namespace}\` \\| \`${s.name}\` \\| [^|]+ \\| [^-|][^|]*\\|`));
  });

  test('waits for every Deployment (per-user ones included) and every Job of the workloads and the verification', () => {
    for (const { file, o } of objects.filter(({ o }) => o.kind === 'Deployment'))
      expect([file, deploy.content.includes(`-n ${o.metadata.namespace} rollout status deployment/${o.metadata.name} `)]).toEqual([file, true]);
    for (const { o } of objects.filter(({ o }) => o.kind === 'Job' && o.metadata.labels?.['app.kubernetes.io/component'] !== 'restore'))
      expect(deploy.content).toContain(`-n ${o.metadata.namespace} wait --for=condition=complete job/${o.metadata.name} `);
    for (const user of config.workspaces.users) expect(deploy.content).toMatch(new RegExp(`deployment/(jupyter|vscode)-${user.name} `));
  });

  test('gives one DNS record per host name, to the address of its load balancer', () => {
    const rows = [...deploy.content.matchAll(/^\| `([a-z0-9.-]+)` \| `([a-z0-9-]+)` \|$/gm)].map((m) => m[1]);
    expect(rows.sort()).toEqual(
      buildModel(config)
        .edgeSites.map((s) => s.host)
        .sort(),
    );
    if (rows.length > 0) expect(deploy.content).toContain(`${rows.length} A records`);
  });

  test('verifies with the verification Job only, never the restore template that dist/tests/ also holds', () => {
    const applied = [...deploy.content.matchAll(/apply -f dist\/(tests\/\S*)/g)].map(([, file]) => file);
    expect(applied).toEqual(['tests/mlflow-verify.yaml']);
    const printed = nextSteps(files, 'dist/').join('\n');
    expect(printed).toContain('kubectl apply -f dist/tests/mlflow-verify.yaml');
    expect(printed).not.toMatch(/dist\/tests\/(\s|$)|postgres-restore/);
  });

  test('every shell block parses (bash -n)', () => {
    const blocks = shellBlocks(deploy.content);
    expect(blocks.length).toBeGreaterThan(8);
    for (const block of blocks) {
      const r = spawnSync('bash', ['-n'], { input: block, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`bash -n refuses:\n${block}\n${r.stderr}`);
    }
  });

  test('holds no secret value: every Secret value is made by a command at run time', () => {
    expect(deploy.content).not.toMatch(/--from-literal=\w+=(?!"\$)/);
  });

  test('its gcloud commands read back as argv with the config values', () => {
    const commands = gcloudCommandsOf(deploy.content);
    expect(commands).toContainEqual([
      'container',
      'clusters',
      'get-credentials',
      expect.any(String),
      expect.stringMatching(/^--location=/),
      `--project=${config.project.id}`,
    ]);
    for (const argv of commands) expect(argv.join(' ')).not.toMatch(/\$/);
  });
});

test('the runbook pins the trust-manager release that the guide and the Flux example pin', () => {
  const guide = fs.readFileSync(path.join(PROJECT_ROOT, 'docs/first-deployment.md'), 'utf8');
  const flux = fs.readFileSync(path.join(PROJECT_ROOT, 'examples/flux/cert-manager/trust-manager.yaml'), 'utf8');
  expect(flux).toMatch(new RegExp(`version: ${TRUST_MANAGER_VERSION.replace(/\./g, '\\.')}\\n`));
  expect(guide).toContain(
    `helm install trust-manager jetstack/trust-manager --kube-context "$WORK" --namespace cert-manager --version ${TRUST_MANAGER_VERSION} `,
  );
});

test('the runbook pins the cert-manager release that the guide and the Flux example pin', () => {
  const guide = fs.readFileSync(path.join(PROJECT_ROOT, 'docs/first-deployment.md'), 'utf8');
  const flux = fs.readFileSync(path.join(PROJECT_ROOT, 'examples/flux/cert-manager/helmrelease.yaml'), 'utf8');
  expect(guide).toContain(`--version ${CERT_MANAGER_VERSION} `);
  expect(flux).toMatch(new RegExp(`version: ${CERT_MANAGER_VERSION.replace(/\./g, '\\.')}\\n`));
});

test('the two-cluster loop of docs/gcp.md sends every numbered file but the gcp and namespaces files to the new cluster, for every config', () => {
  const doc = fs.readFileSync(path.join(PROJECT_ROOT, 'docs/gcp.md'), 'utf8');
  const loop = /^for f in dist\/0\*\.yaml; do .*; done$/m.exec(doc)![0];
  for (const { files } of rendered) {
    const numbered = files.filter((f) => /^\d{4}-.*\.yaml$/.test(f.path)).map((f) => `dist/${f.path}`);
    const script = `kubectl() { echo "$3"; }\n${loop.replace('dist/0*.yaml', numbered.join(' '))}`;
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    expect(r.stdout.trim().split('\n')).toEqual(numbered.filter((f) => !/-(gcp|namespaces)\.yaml$/.test(f)));
  }
});

test('docs/first-deployment.md counts the DNS records as the runbook does: one per host name', () => {
  const guide = fs.readFileSync(path.join(PROJECT_ROOT, 'docs/first-deployment.md'), 'utf8');
  const users = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `u${i}`, email: `u${i}@example.com` }));
  expect(buildModel(configWith({})).edgeSites.length).toBe(3);
  expect(buildModel(configWith({ workspaces: { users: users(4) } })).edgeSites.length).toBe(9);
  expect(guide).toContain('three without `workspaces.users`, nine with four users');
});

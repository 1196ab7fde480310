/**
 * docs/first-deployment.md against the render it walks through (the default config: cloudsql mode,
 * default names): every dist file, object, label selector, Secret and address it names exists, its
 * Secrets table covers every Secret any example render reads out of band, and the ConfigConnector
 * object it applies validates against the operator's CRD. docs/gcp.md's roles table is the derived one.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { configConnectorRoles } from '../synth/bootstrap/config-connector-roles';
import { BOOTSTRAP_PATH } from '../synth/bootstrap/gcp-script';
import type { RenderedFile } from '../synth/rendered-file';
import type { Config } from '../config/schema';
import { outOfBandSecrets } from '../policy/rules/references';
import { configsUnderTest, configWith, Manifest, PROJECT_ROOT, render } from './support/render';
import { StrictValidator } from './support/schemas';
import { strictTest } from './support/strict-tests';

const GUIDE = fs.readFileSync(path.join(PROJECT_ROOT, 'docs/first-deployment.md'), 'utf8');
const GCP_DOC = fs.readFileSync(path.join(PROJECT_ROOT, 'docs/gcp.md'), 'utf8');
const guideRender = render(configWith({}));

/** The shell commands of the guide's sh blocks, continuation lines joined. */
function commands(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  return blocks.flatMap((b) =>
    b
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#')),
  );
}
/** kubectl commands of the sh blocks and of inline code in the text. */
const kubectl = [...commands(GUIDE), ...[...GUIDE.replace(/```[\s\S]*?```/g, '').matchAll(/`(kubectl [^`]+)`/g)].map((m) => m[1].replace(/\s+/g, ' '))].filter(
  (c) => c.startsWith('kubectl '),
);
const namespaceOf = (command: string) => /(?:^|\s)(?:-n|--namespace)[ =](\S+)/.exec(command)?.[1];

/** Out-of-band Secrets of a render, as the policy gate and synth's next steps see them. */
function secretsOf(files: readonly RenderedFile[]) {
  const sources = files.filter((f) => !f.path.includes('/')).flatMap((f) => (f.objects ?? []).map((manifest, doc) => ({ file: f.path, doc, manifest })));
  return outOfBandSecrets(sources);
}

/** The rows of the "Secrets you create" table: namespace, name, every backticked key. */
function secretsTable(): { namespace: string; name: string; keys: string[] }[] {
  const section = GUIDE.slice(GUIDE.indexOf('### Secrets you create'));
  const rows = section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| cluster') && !l.startsWith('| ---'));
  const end = section.split('\n').findIndex((l, i) => i > 2 && !l.startsWith('|') && l.trim() !== '');
  expect(end).toBeGreaterThan(0);
  return rows.map((row) => {
    const cells = row.split('|').map((c) => c.trim());
    const bare = (cell: string) => cell.replace(/`/g, '');
    return { namespace: bare(cells[2]), name: bare(cells[3]), keys: [...cells[4].matchAll(/`([^`]+)`/g)].map((m) => m[1]) };
  });
}

/**
 * Whether a table row names this Secret: the same namespace and name, where "<user>" in the row's name
 * stands for a user's name (`workspaces.users[].name`, a DNS label), as in `mlflow-user-<user>`.
 */
function rowNames(row: { namespace: string; name: string }, namespace: string, name: string): boolean {
  if (row.namespace !== namespace) return false;
  const pattern = row.name
    .split('<user>')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[a-z0-9]([-a-z0-9]*[a-z0-9])?');
  return new RegExp(`^${pattern}$`).test(name);
}

/** Renders whose Secrets the table must cover: the default and example configs, and the edge variants. */
const variants: { name: string; config: Config }[] = [
  ...configsUnderTest(),
  { name: 'custom IAP OAuth client', config: configWith({ edge: { oauthClientSecret: 'iap-oauth-client' } }) },
  { name: 'private only', config: configWith({ edge: { enabled: false } }) },
  { name: 'per-user workspaces', config: configWith({ workspaces: { users: [{ name: 'ana', email: 'ana@example.com' }] } }) },
];

describe('docs/first-deployment.md', () => {
  test('every dist/ path it names is in the render (a file, or the tests/ or bootstrap/ folder)', () => {
    const named = [...new Set([...GUIDE.matchAll(/\bdist\/[A-Za-z0-9._/*-]*/g)].map((m) => m[0].replace(/[.,]$/, '')))].filter((p) => !p.includes('*'));
    const files = guideRender.files.map((f) => f.path);
    const folders = new Set(files.filter((f) => f.includes('/')).map((f) => `${f.slice(0, f.indexOf('/'))}/`));
    expect(named).toEqual(
      expect.arrayContaining(['dist/0001-gcp.yaml', 'dist/0000-namespaces.yaml', `dist/${BOOTSTRAP_PATH}`, 'dist/tests/mlflow-verify.yaml']),
    );
    for (const p of named) {
      const rel = p.slice('dist/'.length);
      expect([p, rel === '' || files.includes(rel) || folders.has(rel)]).toEqual([p, true]);
    }
  });

  test('every kind/name it passes to kubectl is a rendered object, in the namespace the command gives', () => {
    const kinds = new Map(guideRender.objects.map((o) => [String(o.kind).toLowerCase(), o.kind]));
    let checked = 0;
    for (const command of kubectl) {
      const ns = namespaceOf(command);
      for (const [, kind, name] of command.matchAll(/(?:^|\s)([a-z]+)\/([a-z0-9][a-z0-9.-]*[a-z0-9])(?=\s|$)/g)) {
        if (!kinds.has(kind)) continue;
        const found = guideRender.objects.find(
          (o) => o.kind === kinds.get(kind) && o.metadata.name === name && (ns === undefined || o.metadata.namespace === ns),
        );
        expect([command, `${kind}/${name}`, found !== undefined]).toEqual([command, `${kind}/${name}`, true]);
        checked++;
      }
    }
    // 13 when written; the verification Job is named by its spec hash and passed on as "$job", not by name.
    expect(checked).toBeGreaterThanOrEqual(13);
  });

  test('every label selector it waits on selects rendered objects of that kind in that namespace', () => {
    let checked = 0;
    for (const command of kubectl) {
      const m = /\s([a-z]+) -l (\S+)=(\S+)/.exec(command);
      if (!m) continue;
      const [, kind, key, value] = m;
      const rendered = guideRender.objects.filter((o) => String(o.kind).toLowerCase() === kind);
      if (rendered.length === 0) continue; // the operator's own pods
      const ns = namespaceOf(command);
      expect([command, rendered.some((o) => o.metadata.labels?.[key] === value && (ns === undefined || o.metadata.namespace === ns))]).toEqual([command, true]);
      checked++;
    }
    expect(checked).toBe(2);
  });

  test('every Secret it creates is in its table, with every key the render reads from it', () => {
    const table = secretsTable();
    const created = kubectl.filter((c) => / create secret generic /.test(c));
    expect(created.length).toBeGreaterThanOrEqual(3);
    const secrets = secretsOf(guideRender.files);
    for (const command of created) {
      const name = /create secret generic (\S+)/.exec(command)![1];
      const ns = namespaceOf(command)!;
      const keys = [...command.matchAll(/--from-(?:file|literal)=([a-z_-]+)=/g)].map((k) => k[1]);
      expect([name, table.some((r) => rowNames(r, ns, name))]).toEqual([name, true]);
      const read = secrets.find((s) => s.namespace === ns && s.name === name);
      expect([ns, name, read !== undefined]).toEqual([ns, name, true]);
      expect(keys).toEqual(expect.arrayContaining([...read!.keys]));
    }
  });

  test.each(variants)('its Secrets table lists every Secret the $name render reads out of band, with its keys', ({ config }) => {
    const table = secretsTable();
    for (const s of secretsOf(render(config).files)) {
      const row = table.find((r) => rowNames(r, s.namespace, s.name));
      expect([s.namespace, s.name, row !== undefined]).toEqual([s.namespace, s.name, true]);
      expect(row!.keys).toEqual(expect.arrayContaining([...s.keys]));
    }
  });

  test('its Secrets table lists nothing that no render reads', () => {
    const read = variants.flatMap(({ config }) => secretsOf(render(config).files).map((s) => `${s.namespace}/${s.name}`));
    for (const row of secretsTable())
      expect([row.name, read.some((id) => rowNames(row, id.slice(0, id.indexOf('/')), id.slice(id.indexOf('/') + 1)))]).toEqual([row.name, true]);
  });

  test('it names both global addresses for the DNS A records, as rendered', () => {
    const global = guideRender.objects
      .filter((o) => o.kind === 'ComputeAddress' && o.spec.location === 'global' && o.spec.purpose !== 'VPC_PEERING')
      .map((o) => o.metadata.name);
    expect(global).toHaveLength(2);
    const described = commands(GUIDE)
      .map((c) => /gcloud compute addresses describe (\S+) --global/.exec(c)?.[1])
      .filter(Boolean);
    expect(described.sort()).toEqual([...global].sort());
  });

  // k8s-config-connector v1.155.1, operator/pkg/apis/core/v1beta1/constants.go: "configconnector.core.cnrm.cloud.google.com"
  // is the only name; the install-namespaced page applies this object with `mode: namespaced`.
  const configConnectorObject = (): Manifest => YAML.parse(/<<'EOF'\n([\s\S]*?)\nEOF/.exec(GUIDE)![1]);

  test('the ConfigConnector object it applies puts Config Connector in namespaced mode', () => {
    expect(configConnectorObject()).toEqual({
      apiVersion: 'core.cnrm.cloud.google.com/v1beta1',
      kind: 'ConfigConnector',
      metadata: { name: 'configconnector.core.cnrm.cloud.google.com' },
      spec: { mode: 'namespaced', stateIntoSpec: 'Absent' },
    });
  });

  strictTest('the ConfigConnector object it applies validates strictly against the operator CRD', () => {
    expect(new StrictValidator().validate([configConnectorObject()])).toEqual([]);
  });

  // cert-manager v1.21.1 deploy/charts/cert-manager: chart version v1.21.2 installs the CRDs of v1.21.1 (those under
  // shared/schemas; v1.21.2 changed only image tags), crds.enabled defaults to false, and the Helm release namespace
  // is its cluster resource namespace (templates/deployment.yaml), where the render's CA Certificate lives.
  test('cert-manager is installed before the workloads, pinned, with its CRDs, into the namespace the render expects', () => {
    const install = GUIDE.replace(/\\\n\s*/g, '')
      .split('\n')
      .find((l) => l.startsWith('helm install cert-manager'))!;
    expect(install).toContain('--version v1.21.2');
    expect(install).toContain('--set crds.enabled=true');
    const ca = guideRender.objects.find((o) => o.kind === 'Certificate' && o.spec.isCA);
    expect(install).toContain(`--namespace ${ca!.metadata.namespace} --create-namespace`);
  });

  test('the context it waits for is the rendered one, and the bootstrap it runs is the rendered script', () => {
    expect(GUIDE).toContain('configconnectorcontext/configconnectorcontext.core.cnrm.cloud.google.com');
    expect(GUIDE).toContain(`bash dist/${BOOTSTRAP_PATH}`);
    // The order the guide relies on: bootstrap, Config Connector, gcp layer, namespaces, Secrets, workloads, verification.
    const at = (text: string) => {
      const i = GUIDE.indexOf(text);
      expect([text, i >= 0]).toEqual([text, true]);
      return i;
    };
    const order = [
      `bash dist/${BOOTSTRAP_PATH}`,
      'mode: namespaced',
      'apply -f dist/0001-gcp.yaml',
      'apply -f dist/0000-namespaces.yaml',
      'create secret generic mlflow-kek',
      'helm install cert-manager jetstack/cert-manager',
      "grep -v -- '-gcp",
      'component=sql-grant',
      'apply -f dist/tests/mlflow-verify.yaml',
    ].map(at);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });
});

test('a "<user>" row names each user\'s Secret and nothing else', () => {
  const row = { namespace: 'mlflow', name: 'mlflow-user-<user>' };
  expect(['mlflow-user-ana', 'mlflow-user-bo-2'].map((n) => rowNames(row, 'mlflow', n))).toEqual([true, true]);
  expect([rowNames(row, 'ml-workspaces', 'mlflow-user-ana'), rowNames(row, 'mlflow', 'mlflow-user-'), rowNames(row, 'mlflow', 'mlflow-user-a.b')]).toEqual([
    false,
    false,
    false,
  ]);
  expect(rowNames({ namespace: 'mlflow', name: 'mlflow-kek' }, 'mlflow', 'mlflow-kekx')).toBe(false);
});

describe('docs/gcp.md: the Config Connector roles table', () => {
  const table = () => {
    const block = /<!-- config-connector-roles:begin -->\n([\s\S]*?)<!-- config-connector-roles:end -->/.exec(GCP_DOC)![1];
    return block
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .map((l) => {
        const [, role, needs] = l.split('|').map((c) => c.trim());
        return { role: role.replace(/`/g, ''), needs };
      });
  };

  test('lists exactly the roles the default and example renders need, each with the kinds that need it', () => {
    const needed = new Map<string, Set<string>>();
    for (const { config } of configsUnderTest())
      for (const [role, why] of configConnectorRoles(render(config).objects)) why.forEach((w) => needed.set(role, (needed.get(role) ?? new Set()).add(w)));
    const rows = table();
    expect(rows.map((r) => r.role)).toEqual([...needed.keys()].sort());
    for (const row of rows)
      for (const why of needed.get(row.role)!)
        for (const kind of why.split(' on ')) expect([row.role, row.needs.includes(`\`${kind}\``)]).toEqual([row.role, true]);
  });
});

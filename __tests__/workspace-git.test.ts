/**
 * Git in the workspaces: identity, credentials from referenced Secrets, pinned ssh host keys, egress
 * to the Git hosts and the config refusals. The rendered files are also run through the real git and
 * ssh of this machine (git reads them exactly as the workspace's git does), so a gitconfig that git
 * would misread, or a helper that leaks or loses the token, fails here.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CREDENTIAL_HELPER, GIT_FILES, quote } from '../charts/workspaces/git';
import { FILES_PATH, GIT_PORTS } from '../charts/lib/workspace';
import type { Config } from '../config/schema';
import { chartObjects, configsUnderTest, configWith, Manifest, render } from './support/render';
import { StrictValidator } from './support/schemas';
import { strictTest } from './support/strict-tests';

/** GitHub's Ed25519 host key, as docs.github.com "GitHub's SSH key fingerprints" publishes it. */
const GITHUB_KEY = 'github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const HOSTS = [{ host: 'github.com', knownHosts: [GITHUB_KEY] }, { host: 'gitlab.example.com' }];
const USERS = {
  workspaces: {
    git: { hosts: HOSTS },
    users: [
      {
        name: 'ana',
        email: 'ana@example.com',
        git: {
          name: 'Ana "the first" O\'Brien',
          credentials: [
            { host: 'gitlab.example.com', secret: 'ana-gitlab', type: 'token', username: 'oauth2' },
            { host: 'github.com', secret: 'ana-github-ssh', type: 'ssh' },
          ],
        },
      },
      { name: 'bo', email: 'bo@example.com' },
    ],
  },
} as const;
const SHARED = {
  workspaces: {
    git: {
      hosts: HOSTS,
      shared: {
        name: 'ML team',
        email: 'ml-team@example.com',
        credentials: [{ host: 'gitlab.example.com', secret: 'team-gitlab', type: 'token', username: 'bot' }],
      },
    },
  },
} as const;

const users = configWith(USERS as never);
const shared = configWith(SHARED as never);

function objects(config: Config, app: 'jupyter' | 'vscode'): Manifest[] {
  return chartObjects(render(config).files, app);
}
const find = (list: Manifest[], kind: string, name: string) => list.find((o) => o.kind === kind && o.metadata.name === name)!;
const server = (d: Manifest) => d.spec.template.spec.containers[0];
const envOf = (c: Manifest) => Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));

describe('identity', () => {
  test('each per-user workspace commits as its user, the name and email defaulting to the user entry', () => {
    for (const app of ['jupyter', 'vscode'] as const) {
      const list = objects(users, app);
      expect(find(list, 'ConfigMap', `${app}-ana-files`).data.gitconfig).toContain(
        `[user]\n\tname = "Ana \\"the first\\" O'Brien"\n\temail = "ana@example.com"\n`,
      );
      expect(find(list, 'ConfigMap', `${app}-bo-files`).data.gitconfig).toContain('[user]\n\tname = "bo"\n\temail = "bo@example.com"\n');
      for (const user of ['ana', 'bo']) expect(envOf(server(find(list, 'Deployment', `${app}-${user}`))).GIT_CONFIG_SYSTEM).toBe(`${FILES_PATH}/gitconfig`);
    }
  });

  test('the shared workspaces commit as the configured identity; without one nothing git-related is rendered', () => {
    for (const app of ['jupyter', 'vscode'] as const) {
      expect(find(objects(shared, app), 'ConfigMap', `${app}-files`).data.gitconfig).toContain('[user]\n\tname = "ML team"\n\temail = "ml-team@example.com"\n');
      const plain = objects(configWith({}), app);
      // Without Git settings the instance has no files of its own; the app's shared ConfigMap holds
      // the package locks and the verifying proxy (workspaces.test.ts, "what every instance shares").
      expect(find(plain, 'ConfigMap', `${app}-shared`).data).toBeDefined();
      expect(plain.filter((o) => o.kind === 'ConfigMap' && o.metadata.name !== `${app}-shared`)).toEqual([]);
      expect(envOf(server(find(plain, 'Deployment', app))).GIT_CONFIG_SYSTEM).toBeUndefined();
    }
  });

  test("config/dev.yaml gives the shared workspaces an identity and pins GitHub's host key", () => {
    const dev = configsUnderTest().find((c) => c.name === 'dev')!.config;
    expect(dev.workspaces.git.shared).toMatchObject({ name: 'ML team (dev)', email: 'ml-team@example.com' });
    expect(dev.workspaces.git.hosts).toEqual([{ host: 'github.com', cidrs: [], knownHosts: [GITHUB_KEY] }]);
  });
});

describe('credentials', () => {
  test('Secrets are projected read-only beside the files, never rendered, and declared for the policy gate', () => {
    const list = objects(users, 'vscode');
    const d = find(list, 'Deployment', 'vscode-ana');
    const volume = d.spec.template.spec.volumes.find((v: any) => v.name === 'workspace-files');
    expect(volume.projected.sources).toEqual([
      {
        configMap: {
          name: 'vscode-ana-files',
          items: [
            { key: 'ssh_config', path: 'ssh_config' },
            { key: 'known_hosts', path: 'known_hosts' },
            { key: 'gitconfig', path: 'gitconfig' },
            { key: 'git-credential.sh', path: 'git-credential.sh', mode: 0o555 },
          ],
        },
      },
      { secret: { name: 'ana-gitlab', items: [{ key: 'token', path: 'git-credentials/0/token', mode: 0o440 }] } },
      { secret: { name: 'ana-github-ssh', items: [{ key: 'ssh-privatekey', path: 'git-credentials/1/ssh-privatekey', mode: 0o440 }] } },
    ]);
    expect(volume.projected.defaultMode).toBe(0o444);
    expect(server(d).volumeMounts).toContainEqual({ name: 'workspace-files', mountPath: FILES_PATH, readOnly: true });
    // Ana's Git Secrets, and her MLflow account's (workspace-mlflow-login.test.ts).
    expect(d.metadata.annotations['policy.mlflow-gke.io/external-secrets']).toBe('ana-github-ssh, ana-gitlab, mlflow-user-ana');
    expect(list.filter((o) => o.kind === 'Secret')).toEqual([]);
    // bo has no credentials: nothing of ana's reaches bo's workspace.
    expect(JSON.stringify(find(list, 'Deployment', 'vscode-bo'))).not.toMatch(/ana-/);
  });

  test('the token helper is the script file, scoped to its host, and ssh uses the pinned keys', () => {
    const data = find(objects(users, 'jupyter'), 'ConfigMap', 'jupyter-ana-files').data;
    expect(data[GIT_FILES.helper]).toBe(fs.readFileSync(path.join(__dirname, '..', CREDENTIAL_HELPER), 'utf8'));
    expect(data.gitconfig).toContain(
      `[credential "https://gitlab.example.com"]\n\tusername = "oauth2"\n\thelper = "${FILES_PATH}/git-credential.sh ${FILES_PATH}/git-credentials/0/token"\n`,
    );
    expect(data.gitconfig).toContain(`[core]\n\tsshCommand = "ssh -F ${FILES_PATH}/ssh_config"\n`);
    expect(data.known_hosts).toBe(`${GITHUB_KEY}\n`);
  });

  test('the shared workspaces get the shared credentials', () => {
    const d = find(objects(shared, 'jupyter'), 'Deployment', 'jupyter');
    expect(d.metadata.annotations['policy.mlflow-gke.io/external-secrets']).toBe('team-gitlab, mlflow-user-shared-workspace');
  });

  strictTest('the render validates strictly against Kubernetes 1.31 and 1.34', () => {
    expect(new StrictValidator().validate([...objects(users, 'jupyter'), ...objects(users, 'vscode'), ...objects(shared, 'vscode')])).toEqual([]);
  });
});

describe('egress to the Git hosts', () => {
  const offline = (hosts: unknown) =>
    configWith({ workspaces: { internetEgress: false, mlflowClient: { install: false }, vscode: { extensions: [] }, git: { hosts } } } as never);
  const policy = (config: Config, app: 'jupyter' | 'vscode') => objects(config, app).find((o) => o.kind === 'NetworkPolicy')!;

  test('without the internet rule only the listed Git host ranges are reachable, on ssh and HTTPS', () => {
    const config = offline([
      { host: 'github.com', cidrs: ['140.82.112.0/20', '192.30.252.0/22'] },
      { host: 'gitlab.example.com', cidrs: ['203.0.113.8/29'] },
    ]);
    for (const app of ['jupyter', 'vscode'] as const) {
      const egress = policy(config, app).spec.egress;
      expect(egress).toHaveLength(2);
      expect(egress[1]).toEqual({
        to: ['140.82.112.0/20', '192.30.252.0/22', '203.0.113.8/29'].map((cidr) => ({ ipBlock: { cidr } })),
        ports: [
          { protocol: 'TCP', port: 22 },
          { protocol: 'TCP', port: 443 },
        ],
      });
    }
    expect(GIT_PORTS).toEqual([22, 443]);
  });

  test('with the internet rule no extra rule is rendered (the internet rule reaches every Git host)', () => {
    expect(policy(users, 'jupyter').spec.egress).toHaveLength(2);
    expect(policy(users, 'jupyter').spec.egress[1].to[0].ipBlock.cidr).toBe('0.0.0.0/0');
  });

  test('a Git host without ranges is refused while the internet rule is off', () => {
    expect(() => offline([{ host: 'github.com' }])).toThrow(
      'test config: workspaces.git.hosts[0].cidrs: [] is not allowed: must list the address ranges of "github.com" while workspaces.internetEgress and workspaces.hostEgress are false: the NetworkPolicy can only allow addresses',
    );
  });

  test.each([
    ['10.16.0.0/16', 'network.podsCidr (10.16.0.0/14)'],
    ['0.0.0.0/0', 'network.subnetCidr (10.10.0.0/20)'],
    ['169.254.169.254/32', 'the link-local range of the metadata server (169.254.0.0/16)'],
  ])('Git host range %s is refused: it would open %s', (cidr, what) => {
    expect(() => offline([{ host: 'github.com', cidrs: [cidr] }])).toThrow(
      `test config: workspaces.git.hosts[0].cidrs[0]: "${cidr}" is not allowed: must not overlap ${what}: list only the Git host's own addresses`,
    );
  });
});

describe('config refusals name the field, the value and what is allowed', () => {
  const withUser =
    (git: unknown, hosts: unknown = HOSTS) =>
    () =>
      configWith({ workspaces: { git: { hosts }, users: [{ name: 'ana', email: 'ana@example.com', git }] } } as never);

  test.each([
    [
      'a credential for a host that is not listed',
      withUser({ credentials: [{ host: 'bitbucket.org', secret: 's', type: 'token', username: 'u' }] }),
      'workspaces.users[0].git.credentials[0].host: "bitbucket.org" is not allowed: must be one of workspaces.git.hosts ("github.com", "gitlab.example.com"): a credential is tied to a configured host',
    ],
    [
      'two credentials for one host',
      withUser({
        credentials: [
          { host: 'github.com', secret: 'a', type: 'ssh' },
          { host: 'github.com', secret: 'b', type: 'ssh' },
        ],
      }),
      'workspaces.users[0].git.credentials[1].host: "github.com" is not allowed: must be unique in this list; credentials[0] is for the same host',
    ],
    [
      'a token without a user name',
      withUser({ credentials: [{ host: 'gitlab.example.com', secret: 's', type: 'token' }] }),
      'workspaces.users[0].git.credentials[0].username: (missing) is required for type token: git sends it with the token over HTTPS',
    ],
    [
      'an ssh key for a host without pinned keys',
      withUser({ credentials: [{ host: 'gitlab.example.com', secret: 's', type: 'ssh' }] }),
      'workspaces.users[0].git.credentials[0].type: "ssh" is not allowed: can be ssh only while workspaces.git.hosts lists knownHosts for "gitlab.example.com": ssh must know the host key it trusts',
    ],
    [
      'a name that would end the gitconfig line',
      withUser({ name: 'Ana\n[core]' }),
      'workspaces.users[0].git.name: "Ana\\n[core]" is not allowed: must be one line of text without control characters',
    ],
    [
      'a malformed known_hosts line',
      withUser({}, [{ host: 'github.com', knownHosts: ['github.com AAAAC3Nza'] }]),
      'workspaces.git.hosts[0].knownHosts[0]: "github.com AAAAC3Nza" is not allowed: must be one known_hosts line',
    ],
    [
      'a Git host listed twice',
      withUser({}, [{ host: 'github.com' }, { host: 'github.com' }]),
      'workspaces.git.hosts[1].host: "github.com" is not allowed: must be unique; hosts[0] is the same host',
    ],
    [
      'a shared identity beside per-user workspaces',
      () => configWith({ workspaces: { users: [{ name: 'ana', email: 'ana@example.com' }], git: { shared: { name: 'Team' } } } } as never),
      'workspaces.git.shared.name: "Team" is used only while workspaces.users is empty; set users[].git instead',
    ],
  ])('%s', (_what, load, message) => {
    expect(load).toThrow(message);
  });
});

describe('the rendered files, read by the real git and ssh', () => {
  let dir: string;
  const token = 'glpat-test-only-0123456789';

  /** The instance's files as they appear in the pod, under a temporary folder instead of FILES_PATH. */
  function materialize(config: Config, app: 'jupyter' | 'vscode', name: string): Record<string, string> {
    const files = find(objects(config, app), 'ConfigMap', `${name}-files`).data as Record<string, string>;
    const root = path.join(dir, 'etc');
    for (const [file, content] of Object.entries(files)) {
      fs.mkdirSync(root, { recursive: true });
      fs.writeFileSync(path.join(root, file), content.split(FILES_PATH).join(root), { mode: file.endsWith('.sh') ? 0o555 : 0o444 });
    }
    fs.mkdirSync(path.join(root, 'git-credentials', '0'), { recursive: true });
    fs.writeFileSync(path.join(root, 'git-credentials', '0', 'token'), `${token}\n`, { mode: 0o440 });
    const home = path.join(dir, 'home');
    fs.mkdirSync(home, { recursive: true });
    return {
      GIT_CONFIG_SYSTEM: path.join(root, 'gitconfig'),
      HOME: home,
      GIT_TERMINAL_PROMPT: '0',
      GIT_ASKPASS: '',
      SSH_ASKPASS: '',
      PATH: process.env.PATH ?? '',
    };
  }

  function run(command: string, args: string[], env: Record<string, string>, input = '', cwd = dir) {
    const result = spawnSync(command, args, { env, input, cwd, encoding: 'utf8' });
    if (result.error) throw new Error(`${command} did not run (${result.error.message}): install the Debian packages git and openssh-client`);
    return result;
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-git-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('git takes the identity from the rendered system file, and ~/.gitconfig still overrides it', () => {
    const env = materialize(users, 'vscode', 'vscode-ana');
    expect(run('git', ['config', '--show-origin', 'user.name'], env).stdout).toBe(`file:${env.GIT_CONFIG_SYSTEM}\tAna "the first" O'Brien\n`);
    expect(run('git', ['init', '-q', 'repo'], env).status).toBe(0);
    expect(run('git', ['commit', '-q', '--allow-empty', '-m', 'first'], env, '', path.join(dir, 'repo')).status).toBe(0);
    expect(run('git', ['log', '-1', '--format=%an <%ae>|%cn <%ce>'], env, '', path.join(dir, 'repo')).stdout).toBe(
      'Ana "the first" O\'Brien <ana@example.com>|Ana "the first" O\'Brien <ana@example.com>\n',
    );
    expect(run('git', ['config', '--global', 'user.name', 'Ana at home'], env).status).toBe(0);
    expect(run('git', ['config', 'user.name'], env).stdout).toBe('Ana at home\n');
  });

  test('git gets the token for its host only, and storing or erasing writes it nowhere', () => {
    const env = materialize(users, 'jupyter', 'jupyter-ana');
    const fill = (host: string) => run('git', ['credential', 'fill'], env, `protocol=https\nhost=${host}\n\n`);
    const got = fill('gitlab.example.com');
    expect(got.status).toBe(0);
    expect(got.stdout).toBe(`protocol=https\nhost=gitlab.example.com\nusername=oauth2\npassword=${token}\n`);
    // Another host never sees it: git finds no credential (and may not prompt).
    const other = fill('evil.example.com');
    expect(other.status).not.toBe(0);
    expect(other.stdout).not.toContain(token);
    const approve = `protocol=https\nhost=gitlab.example.com\nusername=oauth2\npassword=${token}\n\n`;
    expect(run('git', ['credential', 'approve'], env, approve).status).toBe(0);
    expect(run('git', ['credential', 'reject'], env, approve).status).toBe(0);
    expect(fs.readdirSync(env.HOME)).toEqual([]);
    expect(fill('gitlab.example.com').stdout).toContain(`password=${token}\n`);
  });

  test('ssh for git uses the user key for its host and trusts only the pinned host keys', () => {
    const env = materialize(users, 'vscode', 'vscode-ana');
    const root = path.join(dir, 'etc');
    expect(run('git', ['config', 'core.sshCommand'], env).stdout).toBe(`ssh -F ${root}/ssh_config\n`);
    const effective = (host: string) => run('ssh', ['-G', '-F', path.join(root, 'ssh_config'), host], env).stdout.split('\n');
    const github = effective('github.com');
    expect(github).toContain(`identityfile ${root}/git-credentials/1/ssh-privatekey`);
    expect(github).toContain('identitiesonly yes');
    expect(github).toContain(`userknownhostsfile ${root}/known_hosts`);
    expect(github).toContain('stricthostkeychecking true');
    const other = effective('gitlab.example.com');
    expect(other).toContain('stricthostkeychecking true');
    expect(other.some((l) => l.includes('git-credentials'))).toBe(false);
    // The pinned line is GitHub's published Ed25519 key (fingerprint from docs.github.com).
    expect(run('ssh-keygen', ['-lf', path.join(root, 'known_hosts')], env).stdout).toBe(
      '256 SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU github.com (ED25519)\n',
    );
  });

  // openssh-portable authfile.c sshkey_perm_ok: a private key readable by others is refused only
  // when it belongs to the user running ssh ("if the key owned by a different user, then we don't
  // care"). The projected Secret file is root's, mode 0440, read by the workspace user through the
  // pod's fsGroup: this runs the same check with the roles swapped (needs root to chown, as CI has).
  test('ssh accepts a group-readable private key owned by another user, as the projected Secret is', () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (it gives the key to another user); CI runs as root');
    const key = path.join(dir, 'id_ed25519');
    expect(run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key], { PATH: process.env.PATH ?? '' }).status).toBe(0);
    fs.chmodSync(key, 0o440);
    const own = run('ssh-keygen', ['-y', '-f', key], { PATH: process.env.PATH ?? '' });
    expect(own.status).not.toBe(0);
    expect(own.stderr).toMatch(/UNPROTECTED PRIVATE KEY FILE/);
    fs.chownSync(key, 1, 0);
    const other = run('ssh-keygen', ['-y', '-f', key], { PATH: process.env.PATH ?? '' });
    expect(other.stderr).toBe('');
    expect(other.stdout).toMatch(/^ssh-ed25519 /);
  });

  test('a quoted value survives git: backslashes and quotes come back as written', () => {
    const value = 'a\\b "c" #d ;e';
    const file = path.join(dir, 'cfg');
    fs.writeFileSync(file, `[user]\n\tname = ${quote(value)}\n`);
    expect(run('git', ['config', '--file', file, 'user.name'], { PATH: process.env.PATH ?? '' }).stdout).toBe(`${value}\n`);
  });
});

/**
 * A sweep of config variants, each rendered and applied to a fresh local control plane with the same
 * checks as the example configs: both database modes, the edge off, no, one and five users, a GPU,
 * each workspace app off, collaboration on, Git credentials, a name prefix, one zone, one replica.
 */
import { configWith } from '../support/render';
import { distFiles, renderToDir } from './support/render-dir';
import { expectRenderChecks, onCluster } from './support/scenario';

const user = (name: string) => ({ name, email: `${name}@example.com` });
/** GitHub's Ed25519 host key, as docs.github.com "GitHub's SSH key fingerprints" publishes it. */
const GITHUB_KEY = 'github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const GIT_HOSTS = [{ host: 'github.com', knownHosts: [GITHUB_KEY] }, { host: 'gitlab.example.com' }];

const VARIANTS: [string, object][] = [
  ['database in a StatefulSet', { database: { mode: 'statefulset' } }],
  ['database in Cloud SQL', { database: { mode: 'cloudsql' } }],
  ['edge off', { edge: { enabled: false } }],
  ['no users (shared workspaces)', { workspaces: { users: [] } }],
  ['one user', { workspaces: { users: [user('ana')] } }],
  ['five users', { workspaces: { users: ['ana', 'bo', 'cy', 'di', 'ed'].map(user) } }],
  ['a GPU for Jupyter', { workspaces: { gpu: { enabled: true } } }],
  ['Jupyter off', { workspaces: { jupyter: { enabled: false } } }],
  ['VS Code off', { workspaces: { vscode: { enabled: false } } }],
  ['both workspace apps off', { workspaces: { jupyter: { enabled: false }, vscode: { enabled: false } } }],
  ['Jupyter collaboration on', { workspaces: { jupyter: { collaboration: { enabled: true } } } }],
  [
    // VS Code collaboration runs only without the internet rule, reaching its server's ranges alone.
    'VS Code collaboration on',
    {
      workspaces: {
        internetEgress: false,
        mlflowClient: { install: false },
        vscode: {
          extensions: [],
          collaboration: {
            enabled: true,
            serverUrl: 'https://oct.example.com/',
            serverCidrs: ['203.0.113.16/28'],
            extension: '/opt/extensions/open-collaboration-tools-0.3.8.vsix',
          },
        },
      },
    },
  ],
  [
    'Git credentials per user and shared',
    {
      workspaces: {
        git: { hosts: GIT_HOSTS },
        users: [
          {
            ...user('ana'),
            git: {
              credentials: [
                { host: 'gitlab.example.com', secret: 'ana-gitlab', type: 'token', username: 'oauth2' },
                { host: 'github.com', secret: 'ana-github-ssh', type: 'ssh' },
              ],
            },
          },
          user('bo'),
        ],
      },
    },
  ],
  [
    'Git credentials for the shared workspaces',
    {
      workspaces: {
        git: { hosts: GIT_HOSTS, shared: { credentials: [{ host: 'gitlab.example.com', secret: 'team-gitlab', type: 'token', username: 'bot' }] } },
      },
    },
  ],
  ['a name prefix', { namePrefix: 'team-a-' }],
  ['one zone', { project: { zones: ['europe-west1-b'] } }],
  ['a single MLflow replica', { mlflow: { replicas: 1, maxReplicas: 1 } }],
];

describe.each(VARIANTS)('config variant: %s, on a real control plane', (_name, overrides) => {
  const scenario = onCluster(() => distFiles(renderToDir(configWith(overrides as never))));
  expectRenderChecks(scenario);
});

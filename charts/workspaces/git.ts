/**
 * Git as a person uses it in a workspace: commits carry the user's identity, pushes authenticate with
 * the user's own credentials, and ssh trusts only the pinned host keys. Everything is plain files in
 * the instance's ConfigMap, beside the credential Secrets projected read-only, and git finds them
 * through GIT_CONFIG_SYSTEM.
 *
 * Why the "system" level: git reads system, then global (~/.gitconfig), then repository config,
 * later ones winning (git-config(1), "FILES"), and GIT_CONFIG_SYSTEM names the system file instead
 * of /etc/gitconfig (git 2.32.0 release notes; both images ship a newer git: code-server's Debian 12
 * has 2.39, docker-stacks' Ubuntu 24.04 has 2.43). So `git config --global` in a terminal still
 * overrides anything rendered here, and nothing is written to the read-only file.
 */
import type { EnvVar } from '../../imports/k8s-1.31';
import { GIT_SECRET_KEYS } from '../../common/contract';
import type { GitConfig, GitCredential } from '../../config/schema/workspace-git';
import { scriptFile } from '../lib/script-files';
import { FILES_PATH, WorkspaceFiles } from '../lib/workspace';

/** The helper script, a file beside this module. */
export const CREDENTIAL_HELPER = 'charts/workspaces/git-credential.sh';

/** Names of the files in the workspace's file volume. */
export const GIT_FILES = { config: 'gitconfig', sshConfig: 'ssh_config', knownHosts: 'known_hosts', helper: 'git-credential.sh' } as const;

/** Where a credential's Secret key is projected: one folder per credential. */
function credentialPath(index: number, type: GitCredential['type']): string {
  return `git-credentials/${index}/${GIT_SECRET_KEYS[type]}`;
}

export interface WorkspaceGitProps {
  /** user.name and user.email of the commits; either may be missing (the shared instance without one). */
  readonly identity: { readonly name?: string; readonly email?: string };
  readonly credentials: readonly GitCredential[];
  readonly hosts: GitConfig['hosts'];
}

export interface WorkspaceGit {
  readonly files: WorkspaceFiles;
  readonly env: EnvVar[];
  /** Secrets the workspace reads, created out of band. */
  readonly secrets: string[];
}

/** The workspace's git files, or undefined when there is nothing to configure. */
export function workspaceGit(props: WorkspaceGitProps): WorkspaceGit | undefined {
  const { identity, credentials, hosts } = props;
  const knownHosts = hosts.flatMap((h) => h.knownHosts);
  const ssh = knownHosts.length > 0 || credentials.some((c) => c.type === 'ssh');
  if (identity.name === undefined && identity.email === undefined && credentials.length === 0 && !ssh) return undefined;

  const path = (file: string) => `${FILES_PATH}/${file}`;
  const lines = [
    '# The system-level git config of this workspace, rendered by mlflow-gke from workspaces.git and',
    '# workspaces.users[].git. ~/.gitconfig (git config --global) and each repository override it.',
  ];
  if (identity.name !== undefined || identity.email !== undefined) {
    lines.push('[user]');
    if (identity.name !== undefined) lines.push(`\tname = ${quote(identity.name)}`);
    if (identity.email !== undefined) lines.push(`\temail = ${quote(identity.email)}`);
  }
  credentials.forEach((c, i) => {
    if (c.type !== 'token') return;
    // Scoped to the host: git asks this helper only for URLs under https://<host>/ (gitcredentials(7),
    // "Credential contexts"); an absolute helper path is run verbatim with the operation appended.
    lines.push(`[credential ${quote(`https://${c.host}`)}]`);
    lines.push(`\tusername = ${quote(c.username ?? '')}`);
    lines.push(`\thelper = ${quote(`${path(GIT_FILES.helper)} ${path(credentialPath(i, 'token'))}`)}`);
  });
  const files: Record<string, { content: string; mode?: number }> = {};
  if (ssh) {
    // -F: this file instead of ~/.ssh/config, so the pinned keys hold; a user who needs their own
    // ssh setup overrides core.sshCommand in ~/.gitconfig.
    lines.push('[core]', `\tsshCommand = ${quote(`ssh -F ${path(GIT_FILES.sshConfig)}`)}`);
    files[GIT_FILES.sshConfig] = { content: sshConfig(credentials, path) };
    files[GIT_FILES.knownHosts] = { content: `${knownHosts.join('\n')}\n` };
  }
  files[GIT_FILES.config] = { content: `${lines.join('\n')}\n` };
  if (credentials.some((c) => c.type === 'token')) files[GIT_FILES.helper] = { content: scriptFile(CREDENTIAL_HELPER), mode: 0o555 };

  return {
    files: {
      files,
      secretFiles: credentials.map((c, i) => ({ secret: c.secret, key: GIT_SECRET_KEYS[c.type], path: credentialPath(i, c.type) })),
    },
    env: [{ name: 'GIT_CONFIG_SYSTEM', value: path(GIT_FILES.config) }],
    secrets: [...new Set(credentials.map((c) => c.secret))].sort(),
  };
}

/**
 * ssh_config(5): the first value obtained for a keyword wins, so the per-host blocks come before
 * `Host *`. Every host is checked against the pinned keys only (StrictHostKeyChecking yes: an unknown
 * or changed key refuses the connection; nothing is added to a known_hosts file).
 */
function sshConfig(credentials: readonly GitCredential[], path: (file: string) => string): string {
  const lines = ['# ssh for git in this workspace (core.sshCommand), rendered by mlflow-gke from workspaces.git.'];
  credentials.forEach((c, i) => {
    if (c.type !== 'ssh') return;
    lines.push(`Host ${c.host}`, `\tIdentityFile ${path(credentialPath(i, 'ssh'))}`, '\tIdentitiesOnly yes');
  });
  lines.push('Host *', `\tUserKnownHostsFile ${path(GIT_FILES.knownHosts)}`, '\tStrictHostKeyChecking yes');
  return `${lines.join('\n')}\n`;
}

/** A git config value in double quotes, with `"` and `\` escaped (git-config(1), "Syntax"). */
export function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

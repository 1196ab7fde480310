/**
 * Git in the workspaces: who commits (an identity per user, one for the shared instances), with which
 * credentials (Secrets created out of band, referenced by name), and to which hosts.
 */
import { z } from 'zod';
import { GIT_SECRET_KEYS } from '../../common/contract';
import { cidr, dnsLabel, dnsName, email } from './primitives';

/**
 * A value the workspace's gitconfig quotes. Git reads a quoted value up to the closing quote, with
 * `\"` and `\\` escaped (git-config(1), "Syntax"); control characters would end the line.
 */
const gitValue = z
  .string()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  .refine((v) => ![...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f), 'must be one line of text without control characters');

/**
 * One line of an OpenSSH known_hosts file: host patterns, key type, base64 key, optional comment
 * (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT"). Markers (@cert-authority, @revoked) are left out: a
 * pinned host key is the point.
 */
const KNOWN_HOST =
  /^[^\s@#][^\s]* (ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$/;

export const gitCredentialSchema = z.strictObject({
  host: dnsName.describe('Git host the credential is for, as listed in workspaces.git.hosts (git uses it for https://<host>/ and ssh to <host> only).'),
  secret: dnsLabel(253).describe(
    `Secret in the workspaces namespace, created out of band and mounted read-only: key "${GIT_SECRET_KEYS.token}" for type token, key "${GIT_SECRET_KEYS.ssh}" (type kubernetes.io/ssh-auth) for type ssh.`,
  ),
  type: z.enum(['token', 'ssh']).describe('token: an HTTPS access token given to git by a credential helper; ssh: a private key used for ssh to the host.'),
  username: gitValue
    .optional()
    .describe('User name sent with the token over HTTPS (what the host expects with an access token, for example the account name); required for type token.'),
});

export type GitCredential = z.infer<typeof gitCredentialSchema>;

const credentials = z
  .array(gitCredentialSchema)
  .default([])
  .describe('Git credentials, at most one per host; each Secret is mounted read-only and never rendered.');

/** The identity and credentials of one user's workspaces. */
export const userGitSchema = z
  .strictObject({
    name: gitValue.optional().describe('Git user.name of the commits. Default: the user name.'),
    email: email.optional().describe('Git user.email of the commits. Default: the user email.'),
    credentials,
  })
  .prefault({})
  .describe("Git in this user's workspaces.");

export const gitSchema = z
  .strictObject({
    hosts: z
      .array(
        z.strictObject({
          host: dnsName.describe('Host name, such as "github.com".'),
          cidrs: z
            .array(cidr)
            .default([])
            .describe(
              'Address ranges of the host, allowed on ports 22 and 443 while workspaces.internetEgress is false (a NetworkPolicy matches addresses, not names); unused while the internet rule is open, optional while workspaces.hostEgress allows the host by name.',
            ),
          knownHosts: z
            .array(
              z.string().regex(KNOWN_HOST, 'must be one known_hosts line: "<host> <key type> <base64 key>", such as "github.com ssh-ed25519 AAAAC3Nza..."'),
            )
            .default([])
            .describe("The host's SSH public keys as known_hosts lines; ssh to the configured hosts accepts these keys and no others."),
        }),
      )
      .default([])
      .describe('Git hosts the workspaces use: credentials are tied to them, and SSH host keys are pinned.'),
    shared: z
      .strictObject({
        name: gitValue.optional().describe('Git user.name of commits made in the shared workspaces.'),
        email: email.optional().describe('Git user.email of commits made in the shared workspaces.'),
        credentials,
      })
      .prefault({})
      .describe('Git in the shared workspaces (used only while workspaces.users is empty); everyone IAP admits to them can use these credentials.'),
  })
  .prefault({})
  .describe('Git identity, credentials and hosts of the workspaces.');

export type GitConfig = z.infer<typeof gitSchema>;

type Ctx = z.RefinementCtx;

/** Checks one credential list against the configured hosts; `at` is the path of the list. */
export function checkCredentials(list: readonly GitCredential[], git: GitConfig, at: (string | number)[], ctx: Ctx): void {
  const seen = new Map<string, number>();
  list.forEach((c, i) => {
    const path = [...at, i];
    const host = git.hosts.find((h) => h.host === c.host);
    if (!host)
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'host'],
        input: c.host,
        message: `must be one of workspaces.git.hosts (${git.hosts.map((h) => `"${h.host}"`).join(', ') || 'none listed'}): a credential is tied to a configured host`,
      });
    if (seen.has(c.host))
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'host'],
        input: c.host,
        message: `must be unique in this list; credentials[${seen.get(c.host)}] is for the same host`,
      });
    seen.set(c.host, i);
    if (c.type === 'token' && c.username === undefined)
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'username'],
        input: undefined,
        message: 'is required for type token: git sends it with the token over HTTPS',
      });
    if (c.type === 'ssh' && c.username !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'username'],
        input: c.username,
        message: 'must be left out for type ssh: the user is part of the ssh remote (git@host:...)',
      });
    if (c.type === 'ssh' && host && host.knownHosts.length === 0)
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'type'],
        input: c.type,
        message: `can be ssh only while workspaces.git.hosts lists knownHosts for "${c.host}": ssh must know the host key it trusts`,
      });
  });
}

/** Rules within workspaces.git and the users' git blocks. */
export function checkGit(
  w: { users: readonly { git: z.infer<typeof userGitSchema> }[]; git: GitConfig; internetEgress: boolean; hostEgress?: boolean },
  ctx: Ctx,
): void {
  const hosts = new Map<string, number>();
  w.git.hosts.forEach((h, i) => {
    if (hosts.has(h.host))
      ctx.addIssue({
        code: 'custom',
        path: ['git', 'hosts', i, 'host'],
        input: h.host,
        message: `must be unique; hosts[${hosts.get(h.host)}] is the same host`,
      });
    hosts.set(h.host, i);
    // The host rule (workspaces.hostEgress) allows the Git hosts by name: no ranges needed then.
    if (!w.internetEgress && !w.hostEgress && h.cidrs.length === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['git', 'hosts', i, 'cidrs'],
        input: h.cidrs,
        message: `must list the address ranges of "${h.host}" while workspaces.internetEgress and workspaces.hostEgress are false: the NetworkPolicy can only allow addresses`,
      });
  });
  const shared = w.git.shared;
  if (w.users.length > 0) {
    for (const field of ['name', 'email'] as const)
      if (shared[field] !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['git', 'shared', field],
          input: shared[field],
          message: "is used only while workspaces.users is empty; set users[].git instead (each user's workspaces commit as that user)",
        });
    if (shared.credentials.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['git', 'shared', 'credentials'],
        input: shared.credentials,
        message: 'are used only while workspaces.users is empty; set users[].git.credentials instead',
      });
  }
  checkCredentials(shared.credentials, w.git, ['git', 'shared', 'credentials'], ctx);
  w.users.forEach((u, i) => checkCredentials(u.git.credentials, w.git, ['users', i, 'git', 'credentials'], ctx));
}

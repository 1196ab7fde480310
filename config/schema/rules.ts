/**
 * Rules that span several config sections. Each adds issues at the path the user has to change, so
 * they read like any other config error. Rules that need values derived from the config (names, edge
 * sites) live with the derivations, in model/rules.ts, and report through the same channel.
 */
import type { z } from 'zod';
import type { Config } from './base';
import { overlaps } from './network';
import { clientImageProblem, cloudSqlMajor } from './postgres-image';
import { sizeBytes } from './primitives';

type Ctx = z.RefinementCtx;

export type CrossFieldRule = (config: Config, ctx: Ctx) => void;

export const crossFieldRules: CrossFieldRule[] = [
  function mlflowSharingNamesKnownUsersAndGroups(c, ctx) {
    const users = c.workspaces.users.map((u) => u.name);
    const groups = Object.keys(c.mlflow.auth.groups);
    const known = users.length > 0 ? `one of workspaces.users[].name: ${users.map((u) => `"${u}"`).join(', ')}` : 'a user of workspaces.users, which is empty';
    const unknownUser = (path: (string | number)[], name: string) =>
      ctx.addIssue({ code: 'custom', path, input: name, message: `unknown user "${name}": must be ${known}` });
    for (const [group, members] of Object.entries(c.mlflow.auth.groups))
      members.forEach((m, i) => {
        if (!users.includes(m)) unknownUser(['mlflow', 'auth', 'groups', group, i], m);
      });
    c.mlflow.auth.sharing.forEach((entry, i) => {
      entry.users.forEach((u, j) => {
        if (!users.includes(u)) unknownUser(['mlflow', 'auth', 'sharing', i, 'users', j], u);
      });
      entry.groups.forEach((g, j) => {
        if (!groups.includes(g))
          ctx.addIssue({
            code: 'custom',
            path: ['mlflow', 'auth', 'sharing', i, 'groups', j],
            input: g,
            message: `unknown group "${g}": must be a key of mlflow.auth.groups${groups.length > 0 ? ` (${groups.map((k) => `"${k}"`).join(', ')})` : ', which is empty'}`,
          });
      });
    });
  },
  function iapNeedsMembers(c, ctx) {
    if (c.edge.enabled && c.edge.iapMembers.length === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['edge', 'iapMembers'],
        input: c.edge.iapMembers,
        message: 'must list at least one IAM member while edge.enabled is true (IAP would admit nobody to MLflow)',
      });
  },
  function gpuNeedsJupyter(c, ctx) {
    if (c.workspaces.gpu.enabled && !c.workspaces.jupyter.enabled)
      ctx.addIssue({
        code: 'custom',
        path: ['workspaces', 'gpu', 'enabled'],
        input: true,
        message: 'can be true only while workspaces.jupyter.enabled is true (the GPU is for Jupyter)',
      });
  },
  function mlflowScratchFitsTheNodeDisk(c, ctx) {
    // The server's /tmp is an emptyDir on the node's boot disk, which also holds images, logs and
    // the other pods' ephemeral storage: keep one server's share to half of it.
    const limit = (c.cluster.diskSizeGb * 1e9) / 2;
    if (sizeBytes(c.mlflow.scratchSize) > limit)
      ctx.addIssue({
        code: 'custom',
        path: ['mlflow', 'scratchSize'],
        input: c.mlflow.scratchSize,
        message: `must be at most half of the node boot disk (cluster.diskSizeGb ${c.cluster.diskSizeGb} GB): the staging directory is an emptyDir on that disk; raise cluster.diskSizeGb for larger artifacts`,
      });
  },
  function regionalDiskNeedsTwoZones(c, ctx) {
    if (c.database.mode === 'statefulset' && c.database.statefulset.regionalDisk && c.project.zones.length < 2)
      ctx.addIssue({
        code: 'custom',
        path: ['database', 'statefulset', 'regionalDisk'],
        input: true,
        message: `needs at least two zones in project.zones (it lists ${c.project.zones.length}): list a second zone, or set regionalDisk: false`,
      });
  },
  function grantClientMatchesCloudSql(c, ctx) {
    // psql talks to the instance the grant Job provisions: the same major, like the in-cluster image.
    const image = c.database.cloudsql.clientImage;
    if (c.database.mode !== 'cloudsql' || image === undefined) return;
    const problem = clientImageProblem(image, cloudSqlMajor(c.database.cloudsql.version));
    if (problem) ctx.addIssue({ code: 'custom', path: ['database', 'cloudsql', 'clientImage'], input: image, message: problem });
  },
  function gitHostsStayOutsideTheCluster(c, ctx) {
    // A Git host's ranges become an egress ipBlock: one that covers the cluster, its private
    // services or the metadata server (link-local) would open them to code users run.
    const n = c.network;
    const reserved = [
      ...(['subnetCidr', 'podsCidr', 'servicesCidr', 'masterCidr', 'privateServicesCidr'] as const).map((field) => ({
        what: `network.${field}`,
        cidr: n[field],
      })),
      { what: 'the link-local range of the metadata server', cidr: '169.254.0.0/16' },
    ];
    c.workspaces.git.hosts.forEach((h, i) =>
      h.cidrs.forEach((cidr, j) => {
        const hit = reserved.find((r) => overlaps(cidr, r.cidr));
        if (hit)
          ctx.addIssue({
            code: 'custom',
            path: ['workspaces', 'git', 'hosts', i, 'cidrs', j],
            input: cidr,
            message: `must not overlap ${hit.what} (${hit.cidr}): list only the Git host's own addresses`,
          });
      }),
    );
    // The collaboration server's ranges become an egress ipBlock of the VS Code pods, likewise.
    c.workspaces.vscode.collaboration.serverCidrs.forEach((cidr, j) => {
      const hit = reserved.find((r) => overlaps(cidr, r.cidr));
      if (hit)
        ctx.addIssue({
          code: 'custom',
          path: ['workspaces', 'vscode', 'collaboration', 'serverCidrs', j],
          input: cidr,
          message: `must not overlap ${hit.what} (${hit.cidr}): list only the collaboration server's own addresses`,
        });
    });
  },
  function cloudSqlTierFitsEdition(c, ctx) {
    if (c.database.mode !== 'cloudsql') return;
    // Enterprise Plus runs only on performance-optimized tiers, and Enterprise only on the others.
    const { edition, tier } = c.database.cloudsql;
    const perfOptimized = tier.startsWith('db-perf-optimized-');
    const at = { code: 'custom' as const, path: ['database', 'cloudsql', 'tier'], input: tier };
    if (edition === 'ENTERPRISE_PLUS' && !perfOptimized)
      ctx.addIssue({ ...at, message: 'must be a db-perf-optimized-N-* tier while database.cloudsql.edition is ENTERPRISE_PLUS' });
    if (edition === 'ENTERPRISE' && perfOptimized)
      ctx.addIssue({ ...at, message: 'must not be a db-perf-optimized tier while database.cloudsql.edition is ENTERPRISE (use db-custom-CPUS-MEMORY_MB)' });
  },
];

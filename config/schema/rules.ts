/**
 * Rules that span several config sections. Each adds issues at the path the user has to change, so
 * they read like any other config error.
 */
import type { z } from 'zod';
import { platformNames } from '../../common/names';
import type { Config } from './base';
import { hostAllowed } from './mlflow';
import { sizeBytes } from './primitives';

type Ctx = z.RefinementCtx;

export type CrossFieldRule = (config: Config, ctx: Ctx) => void;

export const crossFieldRules: CrossFieldRule[] = [
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
  function mlflowAllowedHostsCoverItsNames(c, ctx) {
    if (!c.mlflow.allowedHosts) return;
    // The rules see the whole parsed config; names derive from it in one place.
    const names = platformNames(c);
    const required = [...(c.edge.enabled ? [names.mlflowHost] : []), new URL(names.mlflowUrl).host];
    const missing = required.filter((host) => !hostAllowed(c.mlflow.allowedHosts ?? [], host));
    if (missing.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['mlflow', 'allowedHosts'],
        input: c.mlflow.allowedHosts,
        message: `must cover ${missing.map((h) => `"${h}"`).join(' and ')} (MLflow answers 403 to any other Host header; leave allowedHosts out to derive the list)`,
      });
  },
];

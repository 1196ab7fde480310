/**
 * The platform worked out from the config, once per render: every name, the workspace instances with
 * their app, the edge sites and their IAP grants, the MLflow accounts and their Secrets, the
 * certificates' names, the network ranges and the MLflow client version. Charts read it and derive
 * nothing that another chart also needs.
 */
import type { Config } from '../config/schema';
import { WORKSPACE_APPS } from '../config/schema/workspaces';
import { clusterRanges, ClusterRanges, LOAD_BALANCER_RANGES } from './network';
import { EdgeSite, edgeSites, IapGrant, iapGrants } from './edge-sites';
import { derivedMlflowClientVersion } from './mlflow-client';
import { enabledWorkspaceApps, PlatformNames, platformNames, WorkspaceApp } from './names';
import { HostGroup, workspaceEgressHosts } from './workspace-egress';

export interface PlatformModel {
  /** The validated config the model was built from. */
  readonly config: Config;
  readonly names: PlatformNames;
  /** The workspace apps this config turns on, in apply order. */
  readonly workspaceApps: readonly WorkspaceApp[];
  /** What the edge serves; empty while `edge.enabled` is false. */
  readonly edgeSites: readonly EdgeSite[];
  /** Who IAP admits to which host. */
  readonly iapGrants: readonly IapGrant[];
  /** The ranges NetworkPolicies name: the cluster's own and Google's load-balancer proxies. */
  readonly ranges: { readonly cluster: ClusterRanges; readonly loadBalancer: readonly string[] };
  /** The mlflow-skinny release the workspaces install; undefined only when no workspace installs it. */
  readonly mlflowClientVersion: string | undefined;
  /** The hosts the workspaces reach by name (FQDN network policy); empty with the internet rule. */
  readonly workspaceEgressHosts: readonly HostGroup[];
}

/**
 * The model of a config that passed validation (model/load.ts). `apps` lists the workspace apps the
 * charts know: the registry's, by default.
 */
export function buildModel(config: Config, apps: readonly WorkspaceApp[] = WORKSPACE_APPS): PlatformModel {
  const names = platformNames(config, apps);
  const sites = edgeSites(config, names);
  return {
    config,
    names,
    workspaceApps: enabledWorkspaceApps(config, apps),
    edgeSites: sites,
    iapGrants: iapGrants(config, sites),
    ranges: { cluster: clusterRanges(config.network), loadBalancer: LOAD_BALANCER_RANGES },
    mlflowClientVersion: derivedMlflowClientVersion(config),
    workspaceEgressHosts: workspaceEgressHosts(config),
  };
}

export type { PlatformNames, WorkspaceApp, EdgeSite, IapGrant, HostGroup };

/**
 * GKE's FQDN network policy: egress allowed by host name, enforced by GKE Dataplane V2 from the
 * answers the cluster's DNS (kube-dns or Cloud DNS) gives the pod. No CRD file is published for it,
 * and neither the Kubernetes typings nor the Config Connector imports have it, so the kind is typed
 * here by hand from Google's documentation
 * (https://cloud.google.com/kubernetes-engine/docs/how-to/fqdn-network-policies): apiVersion
 * `networking.gke.io/v1alpha1`, kind `FQDNNetworkPolicy`, `spec.podSelector` (a label selector),
 * `spec.egress[]` with `matches[]` (each an exact `name` or a `pattern` with `*`) and optional
 * `ports[]` (`protocol`, `port`). Only the fields the platform uses are typed. The offline validation
 * checks renders against a schema of these same fields (__tests__/support/schema-exceptions.ts,
 * HAND_WRITTEN_CRDS).
 *
 * Requirements the page states: GKE 1.26.4-gke.500 / 1.27.1-gke.400 or later, Dataplane V2, the
 * cluster's FQDN network policy turned on (ContainerCluster `enableFqdnNetworkPolicy`), kube-dns or
 * Cloud DNS; at most 50 IP addresses per policy; a Service's ClusterIP cannot be allowed this way.
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';

export const FQDN_NETWORK_POLICY = { apiVersion: 'networking.gke.io/v1alpha1', kind: 'FQDNNetworkPolicy' } as const;

/** One allowed destination: an exact host name, or a pattern with `*`. */
export type FqdnMatch = { readonly name: string } | { readonly pattern: string };

export interface FqdnEgressRule {
  readonly matches: readonly FqdnMatch[];
  /** @default - every port */
  readonly ports?: readonly { readonly protocol: 'TCP' | 'UDP' | 'SCTP'; readonly port: number }[];
}

export interface FqdnNetworkPolicyProps {
  readonly name: string;
  readonly namespace: string;
  readonly labels?: Record<string, string>;
  /** Labels of the pods the policy applies to. */
  readonly podSelector: Record<string, string>;
  readonly egress: readonly FqdnEgressRule[];
}

export class FqdnNetworkPolicy extends Construct {
  constructor(scope: Construct, id: string, props: FqdnNetworkPolicyProps) {
    super(scope, id);
    if (props.egress.some((r) => r.matches.length === 0)) throw new Error(`FQDNNetworkPolicy ${props.name}: every egress rule needs at least one host`);
    new ApiObject(this, 'resource', {
      ...FQDN_NETWORK_POLICY,
      metadata: { name: props.name, namespace: props.namespace, labels: props.labels },
      spec: {
        podSelector: { matchLabels: { ...props.podSelector } },
        egress: props.egress.map((r) => ({
          matches: r.matches.map((m) => ({ ...m })),
          ...(r.ports && r.ports.length > 0 ? { ports: r.ports.map((p) => ({ protocol: p.protocol, port: p.port })) } : {}),
        })),
      },
    });
  }
}

/**
 * Only the platform's namespaces obtain certificates from the platform CA. A cert-manager
 * ClusterIssuer signs for a request in any namespace, and its built-in approver approves every
 * CertificateRequest (cert-manager.io/docs/usage/certificaterequest, "Approval"), so without this
 * anyone who may create a Certificate anywhere in the cluster could get a certificate every platform
 * client trusts, for any name.
 *
 * A ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, GA in Kubernetes 1.30:
 * kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy) refuses, at the API
 * server, every Certificate and CertificateRequest outside the platform's namespaces whose issuerRef
 * names the platform CA ClusterIssuer. cert-manager makes a Certificate's CertificateRequests in the
 * Certificate's namespace, so both ways in are covered. Why this and not approver-policy or
 * namespaced CA Issuers: docs/mlflow.md, "TLS", and docs/security.md, "Certificates".
 *
 * An issuerRef names the platform CA when its name is the CA ClusterIssuer's, its kind is
 * `ClusterIssuer` (an empty kind means `Issuer`) and its group is `cert-manager.io` or empty (the
 * default): cert-manager v1.21.1 deploy/crds/cert-manager.io_certificates.yaml, spec.issuerRef.kind
 * ("Kind of the issuer being referred to. Defaults to 'Issuer'.") and .group ("Defaults to
 * 'cert-manager.io'."). CertificateRequest.spec.issuerRef is the same type.
 */
import { Construct } from 'constructs';
import * as kube from '../../imports/k8s-1.31';
import { NAMESPACE_NAME_LABEL } from './ca-bundle';

export interface IssuerScopeProps {
  /** Name of the ValidatingAdmissionPolicy and its binding. */
  readonly name: string;
  readonly labels: Record<string, string>;
  /** The platform CA ClusterIssuer. */
  readonly caIssuer: string;
  /** The namespaces allowed to ask it for certificates. */
  readonly namespaces: readonly string[];
}

/** The CEL expression that holds for a request that does not name the ClusterIssuer `issuer`. */
export function notFromIssuer(issuer: string): string {
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(issuer)) throw new Error(`IssuerScope: "${issuer}" is not a ClusterIssuer name`);
  const ref = 'object.spec.issuerRef';
  return [
    `!(${ref}.name == '${issuer}'`,
    `(has(${ref}.kind) && ${ref}.kind == 'ClusterIssuer')`,
    `(!has(${ref}.group) || ${ref}.group == '' || ${ref}.group == 'cert-manager.io'))`,
  ].join(' && ');
}

export class IssuerScope extends Construct {
  constructor(scope: Construct, id: string, props: IssuerScopeProps) {
    super(scope, id);
    if (props.namespaces.length === 0) throw new Error(`IssuerScope ${props.name}: no namespace may use ${props.caIssuer}`);
    const namespaces = [...new Set(props.namespaces)].sort();
    const policy = new kube.KubeValidatingAdmissionPolicy(this, 'policy', {
      metadata: { name: props.name, labels: props.labels },
      spec: {
        // Fail closed: when the policy cannot be evaluated, the request is refused.
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            { apiGroups: ['cert-manager.io'], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['certificates', 'certificaterequests'] },
          ],
        },
        validations: [
          {
            expression: notFromIssuer(props.caIssuer),
            message: `the platform CA ClusterIssuer ${props.caIssuer} signs only for the namespaces ${namespaces.join(', ')}`,
            reason: 'Forbidden',
          },
        ],
      },
    });
    const binding = new kube.KubeValidatingAdmissionPolicyBinding(this, 'binding', {
      metadata: { name: props.name, labels: props.labels },
      spec: {
        policyName: props.name,
        validationActions: ['Deny'],
        // Every namespace but the platform's: there the issuer may be named.
        matchResources: { namespaceSelector: { matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'NotIn', values: namespaces }] } },
      },
    });
    binding.addDependency(policy);
  }
}

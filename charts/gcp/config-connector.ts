/**
 * The ConfigConnectorContext of the gcp namespace: in namespaced mode Config Connector reconciles a
 * namespace only once it holds this object, and acts there as the Google service account it names.
 * That account and its roles are made by the bootstrap script (dist/bootstrap/gcp.sh), because
 * Config Connector cannot create the identity it runs as.
 *
 * A plain ApiObject: imports/ has no typed class for the operator's group; the strict validation of
 * the tests checks it against core.cnrm.cloud.google.com_configconnectorcontexts.yaml
 * (k8s-config-connector v1.155.1, operator/config/crd/bases/).
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { GcpScope } from './common';

/**
 * The only name the operator accepts: "ConfigConnectorContextAllowedName ... a singleton object must
 * have the name that matches the resource name" (k8s-config-connector v1.155.1,
 * operator/pkg/apis/core/v1beta1/constants.go).
 */
export const CONTEXT_NAME = 'configconnectorcontext.core.cnrm.cloud.google.com';
const CONTEXT_API_VERSION = 'core.cnrm.cloud.google.com/v1beta1';

export interface ConfigConnectorContextProps {
  readonly scope: GcpScope;
  /** Email of the Google service account Config Connector acts as in the namespace. */
  readonly googleServiceAccount: string;
}

export class ConfigConnectorContext extends Construct {
  constructor(scope: Construct, id: string, props: ConfigConnectorContextProps) {
    super(scope, id);
    new ApiObject(this, 'context', {
      apiVersion: CONTEXT_API_VERSION,
      kind: 'ConfigConnectorContext',
      metadata: { name: CONTEXT_NAME, namespace: props.scope.namespace },
      spec: {
        // The account lives in the platform project, so the CRD's default requestProjectPolicy
        // (SERVICE_ACCOUNT_PROJECT) bills quota to that project too.
        googleServiceAccount: props.googleServiceAccount,
        // The namespace default; every object also sets the annotation (charts/gcp/common.ts).
        stateIntoSpec: 'Absent',
      },
    });
  }
}

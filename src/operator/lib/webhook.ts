/**
 * The mutating admission webhook's one request (Kubernetes admission.k8s.io/v1 AdmissionReview): read the review,
 * answer with the same uid, `allowed`, and the injection patch base64-encoded with `patchType: JSONPatch`.
 * A review it cannot read is answered 400 (the API server then applies the webhook's failurePolicy: Fail).
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { OperatorConfig } from '../config.js';
import { OperatorError } from '../errors.js';
import { injectionPatch, type TrustEntry } from './inject.js';

/** The AdmissionReview to send back. */
export interface AdmissionReviewResponse {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: {
    uid: string;
    allowed: boolean;
    patchType?: 'JSONPatch';
    patch?: string;
    warnings?: string[];
    status?: { code: number; message: string; reason?: string };
  };
}

/** Answers one AdmissionReview (already parsed JSON); throws OPERATOR_ADMISSION_INVALID when it is not one. */
export function admit(
  review: unknown,
  config: OperatorConfig,
  trusts: readonly TrustEntry[],
): AdmissionReviewResponse {
  const r = review as {
    apiVersion?: unknown;
    kind?: unknown;
    request?: {
      uid?: unknown;
      kind?: { kind?: unknown };
      operation?: unknown;
      object?: unknown;
      namespace?: unknown;
    };
  };
  if (r?.apiVersion !== 'admission.k8s.io/v1' || r.kind !== 'AdmissionReview')
    throw new OperatorError('OPERATOR_ADMISSION_INVALID', 'not an admission.k8s.io/v1 AdmissionReview');
  const req = r.request;
  if (typeof req?.uid !== 'string' || req.uid === '')
    throw new OperatorError('OPERATOR_ADMISSION_INVALID', 'the review has no request.uid');
  const answer = (response: Omit<AdmissionReviewResponse['response'], 'uid'>): AdmissionReviewResponse => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: req.uid as string, ...response },
  });
  // Only pod creation is injected; anything else the configuration routes here passes unchanged.
  if (req.kind?.kind !== 'Pod' || req.operation !== 'CREATE') return answer({ allowed: true });
  const pod = req.object as V1Pod | undefined;
  if (typeof pod !== 'object' || pod === null || typeof pod.spec !== 'object')
    throw new OperatorError('OPERATOR_ADMISSION_INVALID', 'the review carries no Pod object');
  // The object of a CREATE may lack metadata.namespace (it comes from the request).
  const withNs: V1Pod = {
    ...pod,
    metadata: { ...pod.metadata, namespace: pod.metadata?.namespace ?? (req.namespace as string) },
  };
  try {
    const { patch, warnings } = injectionPatch(withNs, config, trusts);
    if (patch.length === 0) return answer({ allowed: true });
    return answer({
      allowed: true,
      patchType: 'JSONPatch',
      patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
      ...(warnings.length > 0 ? { warnings } : {}),
    });
  } catch (e) {
    if (!(e instanceof OperatorError) || e.code !== 'OPERATOR_INJECTION_REFUSED') throw e;
    return answer({
      allowed: false,
      status: { code: 422, reason: 'Invalid', message: `${e.code}: ${e.message}` },
    });
  }
}

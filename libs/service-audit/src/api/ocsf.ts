import type { EvidenceRecordDocument } from '@ciba/domain';

/**
 * The OCSF (Open Cybersecurity Schema Framework 1.3) fields an export line carries beside the
 * record, so a SIEM that speaks OCSF files each line as an Authentication event (class 3002,
 * category 3 Identity & Access Management, activity 1 Logon) without a mapping of its own. Only
 * what the record already holds, reshaped: the user is the keyed hint hash (never the hint, an
 * email address or a phone number), the actor the client that asked.
 */
export interface OcsfAuthenticationFields {
  readonly class_uid: 3002;
  readonly class_name: 'Authentication';
  readonly category_uid: 3;
  readonly category_name: 'Identity & Access Management';
  readonly activity_id: 1;
  readonly activity_name: 'Logon';
  readonly type_uid: 300201;
  /** Epoch milliseconds of the request (of the record's last change while the request event is not merged). */
  readonly time: number;
  readonly severity_id: 1;
  readonly severity: 'Informational';
  readonly status_id: 0 | 1 | 2;
  readonly status: 'Unknown' | 'Success' | 'Failure';
  /** `pending`, `approved`, `expired`, or the denial reason (`denied` without one). */
  readonly status_detail: string;
  readonly auth_protocol_id: 99;
  readonly auth_protocol: 'OpenID Connect CIBA';
  readonly metadata: {
    readonly version: '1.3.0';
    readonly product: { readonly name: 'CIBA OpenID Provider'; readonly vendor_name: 'ciba-provider' };
    readonly uid: string;
    readonly correlation_uid: string | null;
  };
  readonly actor: { readonly app_uid: string };
  readonly user: { readonly uid: string | null; readonly type_id: 1 };
}

export const OCSF_VERSION = '1.3.0';

export function ocsfAuthentication(record: EvidenceRecordDocument): OcsfAuthenticationFields {
  const { status_id, status } = outcome(record.decision);
  return {
    class_uid: 3002,
    class_name: 'Authentication',
    category_uid: 3,
    category_name: 'Identity & Access Management',
    activity_id: 1,
    activity_name: 'Logon',
    type_uid: 300201,
    time: Date.parse(record.requested_at ?? record.updated_at),
    severity_id: 1,
    severity: 'Informational',
    status_id,
    status,
    status_detail: record.decision === null ? 'pending' : record.decision === 'denied' ? (record.denial_reason ?? 'denied') : record.decision,
    auth_protocol_id: 99,
    auth_protocol: 'OpenID Connect CIBA',
    metadata: {
      version: OCSF_VERSION,
      product: { name: 'CIBA OpenID Provider', vendor_name: 'ciba-provider' },
      uid: record.request_id,
      correlation_uid: record.correlation_id,
    },
    actor: { app_uid: record.client_id },
    user: { uid: record.user_hint_hash, type_id: 1 },
  };
}

/** OCSF status: 1 Success (approved), 2 Failure (denied, expired), 0 Unknown (no answer yet). */
function outcome(decision: string | null): { status_id: 0 | 1 | 2; status: 'Unknown' | 'Success' | 'Failure' } {
  if (decision === 'approved') return { status_id: 1, status: 'Success' };
  if (decision === 'denied' || decision === 'expired') return { status_id: 2, status: 'Failure' };
  return { status_id: 0, status: 'Unknown' };
}

import { type AuthRequestEvent, type EvidenceMerge, type LifecycleEvent, isDeviceEvent } from '@ciba/domain';
import { assembleEvidence, joinEvidence } from './evidence-merge.js';

/**
 * The evidence records a batch of lifecycle events makes, to merge into the stored ones: the batch's
 * events of each request joined first. Device events have no request and no record. Redelivered and
 * out-of-order events change nothing that their first, in-order delivery would not (see
 * `evidence-merge.ts`).
 */
export function evidenceOfBatch(events: readonly LifecycleEvent[]): EvidenceMerge {
  const byRequest = new Map<string, AuthRequestEvent[]>();
  for (const event of events) {
    if (isDeviceEvent(event)) continue;
    const list = byRequest.get(event.requestId) ?? [];
    list.push(event);
    byRequest.set(event.requestId, list);
  }
  const records = [...byRequest.values()].map((list) => assembleEvidence(list)).filter((record) => record !== null);
  return { records, join: joinEvidence };
}

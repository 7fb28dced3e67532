import { Inject, Injectable } from '@nestjs/common';
import { type AuthRequestEvent, type EvidenceRecordRepository, type LifecycleEvent, isDeviceEvent } from '@ciba/domain';
import { EVIDENCE_RECORD_REPOSITORY } from '@ciba/platform';
import { assembleEvidence, joinEvidence } from './evidence-merge.js';

/**
 * Merges a batch of lifecycle events into the evidence records of their requests: the batch's events
 * of each request are joined first, then each stored record takes them under a row lock, all in one
 * transaction. Device events have no request and no record. Redelivered and out-of-order events
 * change nothing that their first, in-order delivery would not (see `evidence-merge.ts`).
 */
@Injectable()
export class EvidenceAssembler {
  constructor(@Inject(EVIDENCE_RECORD_REPOSITORY) private readonly records: EvidenceRecordRepository) {}

  /** Returns how many stored records changed. */
  async merge(events: readonly LifecycleEvent[]): Promise<number> {
    const byRequest = new Map<string, AuthRequestEvent[]>();
    for (const event of events) {
      if (isDeviceEvent(event)) continue;
      const list = byRequest.get(event.requestId) ?? [];
      list.push(event);
      byRequest.set(event.requestId, list);
    }
    const assembled = [...byRequest.values()].map((list) => assembleEvidence(list)).filter((record) => record !== null);
    return this.records.mergeMany(assembled, joinEvidence);
  }
}

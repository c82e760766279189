import { WorkloadCondition } from '@kern/sdk';

/**
 * Sets condition `type` in a copy of `conditions`. The transition time moves
 * only when the status changes, as Kubernetes does.
 */
export function setCondition(
  conditions: WorkloadCondition[] | undefined, type: string, status: WorkloadCondition['status'],
  reason: string, message: string, now: string,
): WorkloadCondition[] {
  const out = (conditions ?? []).map((c) => ({ ...c }));
  const existing = out.find((c) => c.type === type);
  if (existing) {
    if (existing.status !== status) {
      existing.lastTransitionTime = now;
      existing.lastUpdateTime = now;
    }
    existing.status = status;
    existing.reason = reason;
    existing.message = message;
    return out;
  }
  out.push({ type, status, reason, message, lastUpdateTime: now, lastTransitionTime: now });
  return out;
}

/** The condition `type` when its status is True. */
export function trueCondition(conditions: WorkloadCondition[] | undefined, type: string): WorkloadCondition | undefined {
  return conditions?.find((c) => c.type === type && c.status === 'True');
}

import { Taint, Toleration } from '../resources/core';

/**
 * True when the toleration matches the taint, as in Kubernetes: an empty
 * effect matches every effect; `Exists` with no key matches every taint;
 * `Exists` with a key matches any value; `Equal` (the default) needs key and
 * value to match. tolerationSeconds plays no part here.
 */
export function tolerates(t: Toleration, taint: Pick<Taint, 'key' | 'value' | 'effect'>): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (!t.key) return t.operator === 'Exists';
  if (t.key !== taint.key) return false;
  return t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '');
}

/** True when one of `tolerations` matches the taint. */
export function toleratesAny(tolerations: readonly Toleration[] | undefined, taint: Pick<Taint, 'key' | 'value' | 'effect'>): boolean {
  return (tolerations ?? []).some((t) => tolerates(t, taint));
}

/** A taint as kubectl writes it (and `kern taint` reads it): `key=value:Effect`, or `key:Effect` without a value. */
export function formatTaint(t: Pick<Taint, 'key' | 'value' | 'effect'>): string {
  return `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`;
}

/** Every taint effect, in the order messages list them. */
export const TAINT_EFFECTS: readonly Taint['effect'][] = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

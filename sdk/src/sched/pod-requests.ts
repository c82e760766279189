import { Pod } from '../resources/core';
import { parseCpuMillis, parseMemoryBytes } from '../resources/quantity';
import { ResourceAmounts } from './framework';

/**
 * What a pod asks for, as the scheduler counts it: the sum of its
 * containers' requests (a limit stands in for a missing request, as
 * Kubernetes defaults it), or the largest init container when that is more;
 * `pods` is 1.
 */
export function podRequests(pod: Pod): ResourceAmounts {
  let cpu = 0;
  let memory = 0;
  for (const c of pod.spec?.containers ?? []) {
    const r = { ...c.resources?.limits, ...c.resources?.requests };
    if (r.cpu) cpu += parseCpuMillis(r.cpu);
    if (r.memory) memory += parseMemoryBytes(r.memory);
  }
  for (const c of pod.spec?.initContainers ?? []) {
    const r = { ...c.resources?.limits, ...c.resources?.requests };
    if (r.cpu) cpu = Math.max(cpu, parseCpuMillis(r.cpu));
    if (r.memory) memory = Math.max(memory, parseMemoryBytes(r.memory));
  }
  return { cpu, memory, pods: 1 };
}

/** True for Succeeded and Failed pods: they hold no resources. */
export function isTerminalPod(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

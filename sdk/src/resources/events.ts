import { KernObject } from './meta';

export interface EventOptions {
  /** Why, in CamelCase (`Preempted`, `TaintManagerEviction`). */
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  /** Who reports it (`source.component`). */
  component: string;
  /** The Event's name; default `{object name}.{time and random hex}`, unique per call. */
  name?: string;
  /** When it happened; default now. */
  at?: Date;
}

/**
 * An `Event` about `involved`, shaped as `kubectl get events` and `kern
 * describe` read it, in the involved object's namespace ('default' for a
 * cluster-scoped one). Create it with `state.create`.
 */
export function eventObject(involved: KernObject, options: EventOptions): KernObject {
  const ts = (options.at ?? new Date()).toISOString();
  const md = involved.metadata;
  const namespace = md.namespace ?? 'default';
  const name = options.name ?? `${md.name}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: name.slice(0, 253), namespace },
    involvedObject: { apiVersion: involved.apiVersion, kind: involved.kind, namespace: md.namespace, name: md.name, uid: md.uid },
    reason: options.reason,
    message: options.message,
    type: options.type,
    source: { component: options.component },
    count: 1,
    firstTimestamp: ts,
    lastTimestamp: ts,
  } as unknown as KernObject;
}

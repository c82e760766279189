import type Koa from 'koa';
import { errors } from '@kern/sdk';
import { parseBody, readBody, requireObject } from './body';
import { RequestScope, sendJson } from './resource-api';

/**
 * `POST /api/v1/namespaces/{ns}/pods/{name}/binding`: Kubernetes' binding
 * subresource, which a scheduler of its own (a pod with another
 * `spec.schedulerName`) posts to place a pod. The body is a Binding naming
 * the node (`target.name`); the kernel runs `sched.bind`, which refuses a
 * pod already bound or a node it does not fit, and replies 201 with a
 * Status, as kube-apiserver does.
 */
export async function bindPod(c: Koa.Context, scope: RequestScope, namespace: string, name: string): Promise<void> {
  const binding = requireObject(parseBody(await readBody(c.req, scope.api.bodyLimitBytes), c.get('Content-Type')) ?? {}, 'Binding');
  if (binding.kind !== undefined && binding.kind !== 'Binding') throw errors.invalid('kind', `must be "Binding", got ${JSON.stringify(binding.kind)}`);
  const meta = binding.metadata as { name?: unknown } | undefined;
  if (meta?.name !== undefined && meta.name !== name) {
    throw errors.invalid('metadata.name', `must be the pod's name "${name}" (or left out), got ${JSON.stringify(meta.name)}`);
  }
  const target = binding.target as { kind?: unknown; name?: unknown } | undefined;
  if (!target || typeof target !== 'object' || typeof target.name !== 'string' || target.name === '') {
    throw errors.invalid('target.name', 'is required: the node to bind the pod to, e.g. {"target": {"kind": "Node", "name": "node-1"}}');
  }
  if (target.kind !== undefined && target.kind !== 'Node') throw errors.invalid('target.kind', `must be "Node", got ${JSON.stringify(target.kind)}`);
  await scope.api.syscalls.dispatch('sched.bind', { namespace, name, nodeName: target.name }, scope.caller);
  sendJson(c, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201, details: { name, kind: 'pods' } });
}

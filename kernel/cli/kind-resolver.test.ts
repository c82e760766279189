import { CORE_KINDS } from '@kern/sdk';
import { KindResolver, objectRef, parseResourceArgs, resourcePath } from './kind-resolver';

const resolver = new KindResolver(CORE_KINDS);
const info = (kind: string) => CORE_KINDS.find((k) => k.kind === kind)!;

describe('KindResolver', () => {
  it.each([
    ['pods', 'Pod'], ['pod', 'Pod'], ['po', 'Pod'], ['Pod', 'Pod'], ['PODS', 'Pod'],
    ['nodes', 'Node'], ['no', 'Node'], ['ns', 'Namespace'], ['namespace', 'Namespace'],
    ['cm', 'ConfigMap'], ['leases', 'Lease'], ['leases.coordination.k8s.io', 'Lease'],
  ])('resolves %s to %s', (alias, kind) => {
    expect(resolver.resolve(alias).kind).toBe(kind);
  });

  it('names the known types for an unknown one', () => {
    expect(() => resolver.resolve('pdos')).toThrow(/unknown resource type "pdos": known types are .*pods \(po\)/);
  });
});

describe('resourcePath', () => {
  it.each([
    ['Pod', {}, '/api/v1/namespaces/default/pods'],
    ['Pod', { namespace: 'demo', name: 'web' }, '/api/v1/namespaces/demo/pods/web'],
    ['Pod', { allNamespaces: true }, '/api/v1/pods'],
    ['Node', { namespace: 'demo' }, '/api/v1/nodes'],
    ['Node', { name: 'n1' }, '/api/v1/nodes/n1'],
    ['Namespace', { name: 'demo' }, '/api/v1/namespaces/demo'],
    ['Lease', { namespace: 'kern-system', name: 'sched' }, '/apis/coordination.k8s.io/v1/namespaces/kern-system/leases/sched'],
  ] as const)('%s %j is %s', (kind, options, path) => {
    expect(resourcePath(info(kind), options)).toBe(path);
  });
});

describe('objectRef', () => {
  it.each([
    [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' } }, 'pod/web'],
    [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api' } }, 'deployment.apps/api'],
  ])('%j is %s', (obj, ref) => {
    expect(objectRef(obj)).toBe(ref);
  });
});

describe('parseResourceArgs', () => {
  it.each([
    [['pods'], { form: 'kinds', kinds: ['pods'], names: [] }],
    [['pods,nodes'], { form: 'kinds', kinds: ['pods', 'nodes'], names: [] }],
    [['pod', 'a', 'b'], { form: 'kinds', kinds: ['pod'], names: ['a', 'b'] }],
    [['pod/a', 'node/n1'], { form: 'refs', refs: [{ kind: 'pod', name: 'a' }, { kind: 'node', name: 'n1' }] }],
  ])('%j', (args, parsed) => {
    expect(parseResourceArgs(args)).toEqual(parsed);
  });

  it.each([
    [[], 'name a resource type'],
    [['pods,nodes', 'web'], 'names can only follow a single resource type'],
    [['pod/a', 'b'], 'write every argument as TYPE/NAME'],
    [['pod', 'node/b'], 'there is already a resource type'],
  ])('refuses %j', (args, message) => {
    expect(() => parseResourceArgs(args)).toThrow(message);
  });
});

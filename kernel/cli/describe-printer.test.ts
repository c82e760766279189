import { KernObject, Pod } from '@kern/sdk';
import { DescribeWriter, describeObject, eventsFor, titleCase } from './describe-printer';

const now = Date.parse('2024-05-01T12:00:00Z');

describe('DescribeWriter', () => {
  it('aligns values within a block and starts a new block at a heading', () => {
    const w = new DescribeWriter()
      .field(0, 'Name', 'web')
      .field(0, 'Namespace', 'demo')
      .map(0, 'Labels', { app: 'web', tier: 'front' })
      .heading(0, 'Containers')
      .heading(2, 'c')
      .field(4, 'Image', 'busybox');
    expect(w.render()).toBe([
      'Name:       web',
      'Namespace:  demo',
      'Labels:     app=web',
      '            tier=front',
      'Containers:',
      '  c:',
      '    Image:  busybox',
      '',
    ].join('\n'));
  });

  it('prints <none> for empty values and tables', () => {
    expect(new DescribeWriter().map(0, 'Labels', {}).table(0, 'Conditions', ['Type'], []).render()).toBe('Labels:      <none>\nConditions:  <none>\n');
  });
});

it.each([
  ['holderIdentity', 'Holder Identity'],
  ['podCIDR', 'Pod CIDR'],
  ['replicas', 'Replicas'],
])('titleCase(%s) is %s', (key, title) => {
  expect(titleCase(key)).toBe(title);
});

describe('describeObject', () => {
  const pod: Pod = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'web', namespace: 'demo', uid: 'u1', labels: { app: 'web' }, creationTimestamp: '2024-05-01T11:00:00Z' },
    spec: {
      containers: [{ name: 'main', image: 'busybox:1.36', command: ['sleep', '3600'], ports: [{ containerPort: 80 }], env: [{ name: 'A', value: '1' }] }],
      volumes: [{ name: 'scratch', emptyDir: {} }],
    },
    status: {
      phase: 'Running', podIP: '10.0.0.5',
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [{ name: 'main', image: 'busybox:1.36', ready: true, restartCount: 1, state: { running: { startedAt: '2024-05-01T11:58:00Z' } } }],
    },
  };

  it('shows a pod with its containers, conditions, volumes and events', () => {
    const events = [{ apiVersion: 'v1', kind: 'Event', metadata: { name: 'e1', namespace: 'demo', creationTimestamp: '2024-05-01T11:59:00Z' },
      involvedObject: { kind: 'Pod', name: 'web', namespace: 'demo', uid: 'u1' }, type: 'Normal', reason: 'Started', message: 'started main', source: { component: 'agent' } } as KernObject];
    const text = describeObject(pod, { now, events });
    for (const line of [
      /^Name:\s+web$/m, /^Namespace:\s+demo$/m, /^Labels:\s+app=web$/m, /^Annotations:\s+<none>$/m, /^Status:\s+Running$/m, /^IP:\s+10\.0\.0\.5$/m,
      /^Containers:\n  main:\n/m, /^    Image:\s+busybox:1\.36$/m, /^    Command:\s+sleep\n\s+3600$/m, /^    Port:\s+80\/TCP$/m,
      /^    State:\s+Running$/m, /^      Started:\s+2024-05-01T11:58:00Z \(2m ago\)$/m, /^    Restart Count:\s+1$/m, /^    Environment:\n      A:\s+1$/m,
      /^Conditions:\n  Type\s+Status\n  Ready\s+True$/m, /^Volumes:\n  scratch:\n    Type:\s+emptyDir$/m,
      /^Events:\n  Type\s+Reason\s+Age\s+From\s+Message\n  ----\s+------\s+---\s+----\s+-------\n  Normal\s+Started\s+60s\s+agent\s+started main$/m,
    ]) expect(text).toMatch(line);
  });

  it('lists tolerations as kubectl does', () => {
    const tolerant: Pod = { ...pod, spec: { ...pod.spec!, tolerations: [
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' },
      { operator: 'Exists' },
    ] } };
    expect(describeObject(tolerant, { now, events: [] })).toMatch(
      /^Tolerations:\s+node\.kubernetes\.io\/unreachable:NoExecute op=Exists for 300s\n\s+dedicated=gpu:NoSchedule\n\s+ op=Exists$/m,
    );
  });

  it('falls back to a generic view for other kinds', () => {
    const text = describeObject({
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
      metadata: { name: 'sched', namespace: 'kern-system', resourceVersion: '7', creationTimestamp: '2024-05-01T11:00:00Z' },
      spec: { holderIdentity: 'node-1', leaseDurationSeconds: 15 },
    }, { now });
    expect(text).toMatch(/^Kind:\s+Lease$/m);
    expect(text).toMatch(/^  Resource Version:\s+7$/m);
    expect(text).toMatch(/^Spec:\n  Holder Identity:\s+node-1\n  Lease Duration Seconds:\s+15$/m);
    expect(text).not.toMatch(/Events/);
  });

  it('matches events by uid, or by kind and name', () => {
    const ev = (name: string, ref: object) => ({ apiVersion: 'v1', kind: 'Event', metadata: { name }, involvedObject: ref } as KernObject);
    const found = eventsFor(pod, [
      ev('a', { uid: 'u1' }), ev('b', { uid: 'other', kind: 'Pod', name: 'web', namespace: 'demo' }),
      ev('c', { kind: 'Pod', name: 'web', namespace: 'demo' }), ev('d', { kind: 'Pod', name: 'db', namespace: 'demo' }),
    ]);
    expect(found.map((e) => e.metadata.name)).toEqual(['a', 'c']);
  });
});

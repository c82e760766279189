import { Pod, TAINT_NODE_UNREACHABLE, Taint, Toleration } from '@kern/sdk';
import { noExecuteDeadline } from './no-execute';

const podWith = (tolerations: Toleration[] = []): Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }], tolerations },
});
const T0 = 1_000_000;
const since = () => T0;
const dedicated: Taint = { key: 'dedicated', value: 'db', effect: 'NoExecute' };

describe('noExecuteDeadline', () => {
  it('is the taint time for a NoExecute taint the pod does not tolerate', () => {
    expect(noExecuteDeadline(podWith(), [dedicated], since)).toBe(T0);
    expect(noExecuteDeadline(podWith([{ key: 'dedicated', value: 'web', effect: 'NoExecute' }]), [dedicated], since)).toBe(T0);
  });

  it('is never for a tolerated taint without tolerationSeconds, and ignores other effects', () => {
    expect(noExecuteDeadline(podWith([{ key: 'dedicated', operator: 'Exists' }]), [dedicated], since)).toBeUndefined();
    expect(noExecuteDeadline(podWith(), [{ key: 'dedicated', effect: 'NoSchedule' }], since)).toBeUndefined();
  });

  it('adds the smallest tolerationSeconds of the matching tolerations (negative counts as 0)', () => {
    const tolerations: Toleration[] = [
      { key: 'dedicated', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 },
      { operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
      { key: 'other', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 1 },
    ];
    expect(noExecuteDeadline(podWith(tolerations), [dedicated], since)).toBe(T0 + 30_000);
    expect(noExecuteDeadline(podWith([{ key: 'dedicated', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: -5 }]), [dedicated], since)).toBe(T0);
  });

  it('takes the earliest deadline over all NoExecute taints', () => {
    const a: Taint = { key: 'a', effect: 'NoExecute' };
    const b: Taint = { key: 'b', effect: 'NoExecute' };
    const pod = podWith([{ key: 'a', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 100 }, { key: 'b', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 }]);
    expect(noExecuteDeadline(pod, [a, b], (t) => (t.key === 'b' ? T0 + 200_000 : T0))).toBe(T0 + 100_000);
  });

  it('leaves node-loss taints without a toleration to the node lifecycle (NodeLost after the grace period)', () => {
    const unreachable: Taint = { key: TAINT_NODE_UNREACHABLE, effect: 'NoExecute' };
    expect(noExecuteDeadline(podWith(), [unreachable], since)).toBeUndefined();
    const fast = podWith([{ key: TAINT_NODE_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 }]);
    expect(noExecuteDeadline(fast, [unreachable], since)).toBe(T0 + 5000);
  });
});

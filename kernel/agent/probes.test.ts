import { Container, RuntimeDriver } from '@kern/sdk';
import { ProbeManager } from './probes';

const runtime = {} as RuntimeDriver; // no probe here execs: the readiness probe is HTTP to an address nothing serves

describe('ProbeManager.result', () => {
  it('is true for a kind the container has no probe of', () => {
    const probes = new ProbeManager(runtime, () => undefined);
    const plain: Container = { name: 'app', image: 'img' };
    expect(probes.result('c1', 'readiness', plain)).toBe(true);
    expect(probes.result('c1', 'startup', plain)).toBe(true);
  });

  it('is undecided for a container with a probe until probing decides, including before probing started', () => {
    const probes = new ProbeManager(runtime, () => undefined);
    const web: Container = { name: 'web', image: 'img', readinessProbe: { httpGet: { path: '/', port: 8080 }, initialDelaySeconds: 3600 } };
    // Seen running before ensure(): not ready yet (it used to read as ready until the next sync).
    expect(probes.result('c1', 'readiness', web)).toBeUndefined();
    probes.ensure('pod-1', 'c1', web, '127.0.0.1');
    expect(probes.result('c1', 'readiness', web)).toBeUndefined();
    expect(probes.result('c1', 'liveness', web)).toBe(true);
    probes.stopAll();
  });
});

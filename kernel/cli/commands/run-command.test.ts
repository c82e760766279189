import { buildDeployment, buildPod } from './run-command';

describe('buildPod', () => {
  it('makes one container named after the pod, labelled run=NAME, restarting Always', () => {
    expect(buildPod('web', [], { image: 'img', env: [] })).toEqual({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: 'web', namespace: 'default', labels: { run: 'web' } },
      spec: { containers: [{ name: 'web', image: 'img' }], restartPolicy: 'Always' },
    });
  });

  it('sets spec.runtimeClassName from --runtime-class', () => {
    expect(buildPod('p', ['sleep', '1'], { image: 'host', env: [], command: true, runtimeClass: 'raw-exec' }).spec).toMatchObject({ runtimeClassName: 'raw-exec' });
  });

  it.each([
    ['--cpu alone', { cpu: '250m' }, { resources: { requests: { cpu: '250m' }, limits: { cpu: '250m' } } }],
    ['--memory alone', { memory: '1Gi' }, { resources: { requests: { memory: '1Gi' }, limits: { memory: '1Gi' } } }],
    ['--env with = in the value', { env: ['URL=http://x/?a=b'] }, { env: [{ name: 'URL', value: 'http://x/?a=b' }] }],
    ['--port', { port: '80' }, { ports: [{ containerPort: 80 }] }],
  ])('maps %s into the container', (_what, flags, expected) => {
    const pod = buildPod('p', [], { image: 'img', env: [], ...flags });
    expect(pod.spec!.containers[0]).toEqual({ name: 'p', image: 'img', ...expected });
  });

  it.each([
    [[], { image: undefined }, /--image is required/],
    [[], { command: true }, /--command needs the command after --/],
    [[], { labels: '' }, /--labels must name at least one KEY=VALUE pair/],
    [[], { labels: 'a' }, /--labels "a" must look like KEY=VALUE/],
    [[], { memory: '12 apples' }, /--memory: "12 apples" is not a quantity/],
  ])('with args %j and %j: %s', (words, flags, error) => {
    const make = () => buildPod('p', words, { image: 'img', env: [], ...flags });
    if (error) expect(make).toThrow(expect.objectContaining({ kind: 'Invalid', message: expect.stringMatching(error) }));
    else expect(make).not.toThrow();
  });
});

describe('buildDeployment', () => {
  it('makes a Deployment of N pods selected by run=NAME', () => {
    expect(buildDeployment('web', [], { image: 'img', env: [], replicas: '3' })).toEqual({
      apiVersion: 'apps/v1', kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default', labels: { run: 'web' } },
      spec: {
        replicas: 3, selector: { matchLabels: { run: 'web' } },
        template: { metadata: { labels: { run: 'web' } }, spec: { containers: [{ name: 'web', image: 'img' }], restartPolicy: 'Always' } },
      },
    });
  });
  it.each([
    [{ replicas: 'x' }, /--replicas must be a whole number from 0/],
    [{ replicas: '2', restart: 'Never' }, /always restart/],
  ])('refuses %j', (flags, error) => {
    expect(() => buildDeployment('p', [], { image: 'img', env: [], ...flags })).toThrow(expect.objectContaining({ kind: 'Invalid', message: expect.stringMatching(error) }));
  });
});

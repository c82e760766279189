import { Counter, Histogram, Registry } from 'prom-client';
import { TalliedCounter, TalliedHistogram } from './tallies';

/** The same metrics through prom-client's own classes and through tallies print the same text. */
describe('tallied metrics', () => {
  const buckets = [0.001, 0.01, 0.1, 1];
  const observations: [string, number][] = [['a', 0.0005], ['a', 0.001], ['b', 0.05], ['a', 0.7], ['b', 3], ['a', 0.02]];

  it('a tallied histogram prints what prom-client prints for the same observations', async () => {
    const plain = new Registry();
    const tallied = new Registry();
    const reference = new Histogram({ name: 'x_seconds', help: 'h', labelNames: ['name'], buckets, registers: [plain] });
    const histogram = new TalliedHistogram({ name: 'x_seconds', help: 'h', labelNames: ['name'], buckets, registers: [tallied] });
    for (const [name, v] of observations) {
      reference.observe({ name }, v);
      histogram.child({ name }).observe(v);
    }
    expect(await tallied.metrics()).toBe(await plain.metrics());
    expect(await tallied.metrics()).toContain('x_seconds_bucket{le="0.01",name="a"} 2');
  });

  it('a tallied counter folds its children in when scraped, and keeps counting after', async () => {
    const plain = new Registry();
    const tallied = new Registry();
    const reference = new Counter({ name: 'y_total', help: 'h', labelNames: ['method', 'code'], registers: [plain] });
    const counter = new TalliedCounter({ name: 'y_total', help: 'h', labelNames: ['method', 'code'], registers: [tallied] });
    const get = counter.child({ method: 'GET', code: '200' });
    expect(counter.child({ method: 'GET', code: '200' })).toBe(get); // one child per label set
    for (let i = 0; i < 3; i++) { get.inc(); reference.inc({ method: 'GET', code: '200' }); }
    counter.child({ method: 'POST', code: '201' }).inc();
    reference.inc({ method: 'POST', code: '201' });
    expect(await tallied.metrics()).toBe(await plain.metrics());

    get.inc();
    reference.inc({ method: 'GET', code: '200' });
    const text = await tallied.metrics();
    expect(text).toBe(await plain.metrics());
    expect(text).toContain('y_total{method="GET",code="200"} 4');
  });

  it('a reset forgets what was tallied, as prom-client does, and children made before still count', async () => {
    const plain = new Registry();
    const tallied = new Registry();
    const reference = new Histogram({ name: 'z_seconds', help: 'h', labelNames: ['name'], buckets, registers: [plain] });
    const histogram = new TalliedHistogram({ name: 'z_seconds', help: 'h', labelNames: ['name'], buckets, registers: [tallied] });
    const referenceCounter = new Counter({ name: 'z_total', help: 'h', labelNames: ['name'], registers: [plain] });
    const counter = new TalliedCounter({ name: 'z_total', help: 'h', labelNames: ['name'], registers: [tallied] });
    const child = histogram.child({ name: 'a' });
    const counted = counter.child({ name: 'a' });
    histogram.child({ name: 'never-observed' });
    child.observe(0.5);
    reference.observe({ name: 'a' }, 0.5);
    counted.inc(); // tallied, not yet scraped
    referenceCounter.inc({ name: 'a' });
    plain.resetMetrics();
    tallied.resetMetrics();
    expect(await tallied.metrics()).toBe(await plain.metrics());
    expect(await tallied.metrics()).not.toContain('z_seconds_count');

    child.observe(0.005);
    reference.observe({ name: 'a' }, 0.005);
    counted.inc();
    referenceCounter.inc({ name: 'a' });
    expect(await tallied.metrics()).toBe(await plain.metrics());
    expect(await tallied.metrics()).toContain('z_seconds_bucket{le="0.01",name="a"} 1');
    expect(await tallied.metrics()).toContain('z_total{name="a"} 1');
  });

  it('refuses a value that is not a finite number, as prom-client does', () => {
    const histogram = new TalliedHistogram({ name: 'w_seconds', help: 'h', labelNames: ['name'], buckets, registers: [new Registry()] });
    expect(() => histogram.child({ name: 'a' }).observe(NaN)).toThrow(TypeError);
  });
});

import { Counter, LabelValues, Registry } from 'prom-client';

/**
 * Metrics counted on the request path, once per label set, in plain numbers.
 *
 * prom-client checks and hashes the label set on every inc() and observe(),
 * a child from labels() included (a for-in over the labels, a string key, a
 * lookup in a map keyed by it). A ConfigMap create counts three times (HTTP
 * request, syscall, syscall latency), and that was 3-5% of the kernel's CPU
 * per create in bench:compare. Here a label set's child is found by a plain
 * Map key; inc() and observe() then add to fields of that child. The
 * registry reads the tallies when /metrics is scraped, so the exposition is
 * what prom-client's own Counter and Histogram print.
 */

/**
 * The children of one metric, one per label set, made on first use. The
 * key is cheap enough to build per call, so callers need no cache of their
 * own: `metric.child(labels).inc()` on the hot path.
 */
class Children<L extends string, T> {
  private readonly byKey = new Map<string, T>();
  constructor(private readonly labelNames: readonly L[], private readonly make: (labels: Record<string, string | number>) => T) {}

  get(labels: LabelValues<L>): T {
    let key = '';
    for (const n of this.labelNames) key += `${labels[n] ?? ''}\u0000`;
    let child = this.byKey.get(key);
    if (!child) this.byKey.set(key, (child = this.make(definedLabels(labels))));
    return child;
  }

  values(): IterableIterator<T> {
    return this.byKey.values();
  }
}

function definedLabels<L extends string>(labels: LabelValues<L>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(labels)) if (v !== undefined) out[k] = v as string | number;
  return out;
}

/** A Counter whose children tally in plain numbers, folded into it at scrape time. */
export class TalliedCounter<L extends string> {
  readonly metric: Counter<L>;
  private readonly children: Children<L, CounterTally<L>>;

  constructor(config: { name: string; help: string; labelNames: L[]; registers: Registry[] }) {
    const children = (this.children = new Children(config.labelNames, (labels) => new CounterTally<L>(labels as LabelValues<L>)));
    this.metric = new Counter<L>({
      ...config,
      collect() {
        for (const child of children.values()) {
          if (child.pending === 0) continue;
          this.inc(child.labels, child.pending);
          child.pending = 0;
        }
      },
    });
    // A reset (Registry.resetMetrics) also drops what was tallied but not yet folded in.
    const reset = this.metric.reset.bind(this.metric);
    this.metric.reset = () => {
      for (const child of children.values()) child.pending = 0;
      reset();
    };
  }

  /** The child for `labels`: keep it, and call its inc() on the hot path. */
  child(labels: LabelValues<L>): { inc(): void } {
    return this.children.get(labels);
  }
}

class CounterTally<L extends string> {
  pending = 0;
  constructor(readonly labels: LabelValues<L>) {}
  inc(): void {
    this.pending++;
  }
}

/**
 * A histogram with prom-client's exposition (`_bucket{le}` cumulative,
 * `_sum`, `_count`), registered as a metric of its own: prom-client's
 * Histogram has no public way to add tallied counts.
 */
export class TalliedHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  private readonly upperBounds: number[];
  private readonly children: Children<L, HistogramTally>;

  constructor(config: { name: string; help: string; labelNames: L[]; buckets: number[]; registers: Registry[] }) {
    this.name = config.name;
    this.help = config.help;
    this.upperBounds = [...config.buckets].sort((a, b) => a - b);
    this.children = new Children(config.labelNames, (labels) => new HistogramTally(labels, this.upperBounds));
    for (const r of config.registers) r.registerMetric(this as never);
  }

  /** The child for `labels`: keep it, and call its observe() on the hot path. */
  child(labels: LabelValues<L>): { observe(value: number): void } {
    return this.children.get(labels);
  }

  /** What the registry prints (prom-client's MetricObjectWithValues). */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: { metricName: string; labels: Record<string, string | number>; value: number }[] }> {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
    for (const child of this.children.values()) {
      // As prom-client: a label set is printed once it has an observation.
      if (child.count === 0) continue;
      let cumulative = 0;
      this.upperBounds.forEach((le, i) => {
        cumulative += child.buckets[i];
        values.push({ metricName: `${this.name}_bucket`, labels: { le, ...child.labels }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...child.labels }, value: child.count });
      values.push({ metricName: `${this.name}_sum`, labels: { ...child.labels }, value: child.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...child.labels }, value: child.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** As prom-client's reset(): forget every observation (the children stay valid). */
  reset(): void {
    for (const child of this.children.values()) child.clear();
  }
}

class HistogramTally {
  /** Observations per bucket, not cumulative; above the last bound only in count. */
  readonly buckets: number[];
  sum = 0;
  count = 0;
  constructor(readonly labels: Record<string, string | number>, private readonly upperBounds: number[]) {
    this.buckets = upperBounds.map(() => 0);
  }

  clear(): void {
    this.buckets.fill(0);
    this.sum = 0;
    this.count = 0;
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    this.sum += value;
    this.count++;
    const bounds = this.upperBounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]) {
        this.buckets[i]++;
        return;
      }
    }
  }
}

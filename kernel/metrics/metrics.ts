import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { TalliedCounter, TalliedHistogram } from './tallies';

/** Prometheus metrics of one kernel instance (its own registry, not the global one). */
export class KernelMetrics {
  readonly registry = new Registry();
  /** Counted on every syscall and request: tallied (see tallies.ts). */
  readonly syscalls: TalliedCounter<'name' | 'code'>;
  readonly syscallSeconds: TalliedHistogram<'name'>;
  readonly httpRequests: TalliedCounter<'method' | 'code'>;
  readonly watchers: Counter<'api'>;

  constructor() {
    // The default metrics' names start with process_ or nodejs_ already: kern_process_cpu_seconds_total.
    collectDefaultMetrics({ register: this.registry, prefix: 'kern_' });
    this.syscalls = new TalliedCounter({ name: 'kern_kernel_syscalls_total', help: 'Syscalls dispatched, by name and result code', labelNames: ['name', 'code'], registers: [this.registry] });
    this.syscallSeconds = new TalliedHistogram({ name: 'kern_kernel_syscall_duration_seconds', help: 'Syscall latency', labelNames: ['name'], buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [this.registry] });
    this.httpRequests = new TalliedCounter({ name: 'kern_kernel_http_requests_total', help: 'HTTP requests, by method and status code', labelNames: ['method', 'code'], registers: [this.registry] });
    this.watchers = new Counter({ name: 'kern_kernel_watches_started_total', help: 'Watches started, by API', labelNames: ['api'], registers: [this.registry] });
  }
}

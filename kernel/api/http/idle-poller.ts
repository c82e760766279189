/**
 * Keeps the event loop polling for a short while after the API has answered
 * its last request, when requests are coming close together, instead of
 * letting the process sleep in epoll_wait at once.
 *
 * Why: a process that sleeps leaves its vCPU halted, and waking a halted vCPU
 * takes an interrupt between vCPUs; on a VM that is a VM exit on both sides
 * (this machine runs with guest halt-polling off,
 * haltpoll.guest_halt_poll_ns=0). Under a steady stream of requests that
 * wake-up comes with every request. Polling through the gap costs a little
 * CPU and saves the wake-up: bench:api's closed loop, paired against
 * polling off (bench:setting), made 1.17-1.28× the creates/s in three runs
 * (10-11 of 12 rounds faster) at the same CPU per create or less, polling
 * included (see the README).
 *
 * The window adapts as Linux's guest halt-polling does. When the idle gap
 * before a request was longer than the window but within the maximum (a
 * longer poll would have caught it), the window grows: to a quarter of the
 * maximum from nothing, then doubling. When a gap was longer than the
 * maximum, it halves, to nothing below a quarter. A gap the window caught
 * leaves it as it is. So a server whose requests come steadily a few
 * milliseconds apart or further settles at no polling, and a busy one
 * polls about as long as its usual gap.
 */
export class IdlePoller {
  private inFlight = 0;
  private lastEnd = Number.NEGATIVE_INFINITY;
  private windowMs = 0;
  private polling = false;
  private stopped = false;

  constructor(
    private readonly maxWindowMs: number,
    private readonly clock: () => number = () => performance.now(),
    private readonly schedule: (fn: () => void) => void = setImmediate,
  ) {}

  /** The current polling window, in ms (0: the loop sleeps as soon as it is idle). */
  get window(): number {
    return this.windowMs;
  }

  /** True once stop() was called. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** A request arrived. */
  started(): void {
    if (this.maxWindowMs <= 0) return;
    if (this.inFlight++ > 0) return;
    const gap = this.clock() - this.lastEnd;
    if (gap <= this.windowMs) return;
    if (gap <= this.maxWindowMs) {
      this.windowMs = this.windowMs === 0 ? this.maxWindowMs / 4 : Math.min(this.maxWindowMs, this.windowMs * 2);
    } else {
      this.windowMs /= 2;
      if (this.windowMs < this.maxWindowMs / 4) this.windowMs = 0;
    }
  }

  /** A request was answered. */
  ended(): void {
    if (this.maxWindowMs <= 0) return;
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.lastEnd = this.clock();
    if (this.inFlight === 0 && this.windowMs > 0 && !this.polling && !this.stopped) {
      this.polling = true;
      this.schedule(this.firstPoll);
    }
  }

  /** No more polling (the server is closing). */
  stop(): void {
    this.stopped = true;
  }

  // The reply is written after ended() (Koa writes it once the middleware
  // has returned, and the socket sends it on the next tick): the gap starts
  // from the first turn after that.
  private readonly firstPoll = (): void => {
    if (this.inFlight === 0) this.lastEnd = this.clock();
    this.poll();
  };

  // Each call is one turn of the loop: while an immediate is pending, libuv
  // polls its sockets with a zero timeout rather than sleeping.
  private readonly poll = (): void => {
    if (!this.stopped && this.inFlight === 0 && this.clock() - this.lastEnd < this.windowMs) this.schedule(this.poll);
    else this.polling = false;
  };
}

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
 * CPU and saves the wake-up: in bench:api, 1.10-1.16× the creates/s in
 * every paired round (see the README).
 *
 * The window adapts as Linux's guest halt-polling does. It grows (from a
 * quarter of the maximum, doubling) whenever the idle gap before a request
 * was no longer than the maximum, so polling would have caught it, and it
 * halves when a gap was longer. So a server answering a request every few
 * milliseconds or less often settles at no polling at all, and a busy one
 * polls up to `maxWindowMs` after each reply.
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

  /** A request arrived. */
  started(): void {
    if (this.maxWindowMs <= 0) return;
    if (this.inFlight++ > 0) return;
    const gap = this.clock() - this.lastEnd;
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
      this.schedule(this.poll);
    }
  }

  /** No more polling (the server is closing). */
  stop(): void {
    this.stopped = true;
  }

  // Each call is one turn of the loop: while an immediate is pending, libuv
  // polls its sockets with a zero timeout rather than sleeping.
  private readonly poll = (): void => {
    if (!this.stopped && this.inFlight === 0 && this.clock() - this.lastEnd < this.windowMs) this.schedule(this.poll);
    else this.polling = false;
  };
}

import { IdlePoller } from './idle-poller';

/** An IdlePoller on a hand-driven clock whose scheduled turns run when `turn()` says. */
function pollerWithFakeLoop(maxWindowMs: number) {
  let now = 0;
  let queued: (() => void)[] = [];
  const poller = new IdlePoller(maxWindowMs, () => now, (fn) => { queued.push(fn); });
  return {
    poller,
    advance(ms: number) { now += ms; },
    /** Runs one turn of the loop; false when nothing was scheduled (the loop would sleep). */
    turn(): boolean {
      const fns = queued;
      queued = [];
      fns.forEach((fn) => fn());
      return fns.length > 0;
    },
    /** Requests 0.1 ms apart until the window is at its maximum. */
    busy() {
      for (let i = 0; i < 5; i++) this.request(0.1);
    },
    /** One request that takes `ms` to answer, `gap` ms after the last one ended. */
    request(gap: number, ms = 0.1) {
      now += gap;
      poller.started();
      now += ms;
      poller.ended();
    },
  };
}

describe('IdlePoller', () => {
  it('does not poll after an isolated request', () => {
    const l = pollerWithFakeLoop(0.5);
    l.request(1000);
    expect(l.poller.window).toBe(0);
    expect(l.turn()).toBe(false);
  });

  it('starts polling once requests come within the maximum window, then polls through each gap until it closes', () => {
    const l = pollerWithFakeLoop(0.5);
    l.request(1000);
    // Each gap was short (polling would have caught the request): the window grows, up to the maximum.
    for (const grown of [0.125, 0.25, 0.5, 0.5]) {
      l.request(0.3);
      expect(l.poller.window).toBe(grown);
    }

    // After the reply the loop keeps turning while the window is open…
    expect(l.turn()).toBe(true);
    l.advance(0.2);
    expect(l.turn()).toBe(true);
    l.advance(0.29);
    expect(l.turn()).toBe(true);
    // …and lets the loop sleep once it has passed.
    l.advance(0.02);
    expect(l.turn()).toBe(true); // this turn finds the window closed and schedules nothing
    expect(l.turn()).toBe(false);
  });

  it('stops polling as soon as a request arrives, and starts again when it is answered', () => {
    const l = pollerWithFakeLoop(0.5);
    l.busy();
    expect(l.turn()).toBe(true);
    l.poller.started();
    expect(l.turn()).toBe(true); // the pending turn sees the request and stops
    expect(l.turn()).toBe(false);
    l.poller.ended();
    expect(l.turn()).toBe(true);
  });

  it('shrinks the window when requests come further apart, down to no polling', () => {
    const l = pollerWithFakeLoop(0.5);
    l.busy();
    expect(l.poller.window).toBe(0.5);
    for (const halved of [0.25, 0.125, 0]) {
      l.request(2);
      expect(l.poller.window).toBe(halved);
    }
    while (l.turn()) l.advance(0.1); // what was scheduled before runs out
    l.request(2);
    expect(l.turn()).toBe(false);
  });

  it('measures only idle gaps: a request arriving while another is in flight leaves the window alone', () => {
    const l = pollerWithFakeLoop(0.5);
    l.busy();
    expect(l.poller.window).toBe(0.5);
    l.advance(0.1);
    l.poller.started();
    l.advance(3);
    l.poller.started(); // 3 ms after the last reply, but the server was busy all along
    expect(l.poller.window).toBe(0.5);
    l.poller.ended();
    expect(l.turn()).toBe(true); // the turn scheduled earlier finds a request in flight…
    expect(l.turn()).toBe(false); // …and does not poll
    l.poller.ended();
    expect(l.turn()).toBe(true); // all answered: poll
  });

  it('never polls when turned off or stopped', () => {
    const off = pollerWithFakeLoop(0);
    for (let i = 0; i < 5; i++) off.request(0.01);
    expect(off.turn()).toBe(false);

    const l = pollerWithFakeLoop(0.5);
    l.busy();
    l.poller.stop();
    l.turn();
    l.request(0.1);
    expect(l.turn()).toBe(false);
  });
});

import { IdlePoller } from './idle-poller';

/** An IdlePoller on a hand-driven clock whose scheduled turns run when `turn()` says. */
function pollerWithFakeLoop(maxWindowMs: number) {
  let now = 0;
  let queued: (() => void)[] = [];
  const poller = new IdlePoller(maxWindowMs, () => now, (fn) => { queued.push(fn); });
  return {
    poller,
    advance(ms: number) { now += ms; },
    /** Runs one turn of the loop: how many polls it ran (0: the loop would sleep; never more than one chain). */
    turn(): number {
      const fns = queued;
      queued = [];
      fns.forEach((fn) => fn());
      return fns.length;
    },
    /** Requests 0.4 ms apart (each gap longer than the window, within the maximum) until the window is at its maximum. */
    busy() {
      for (let i = 0; i < 4; i++) this.request(0.4);
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
    expect(l.turn()).toBe(0);
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
    expect(l.turn()).toBe(1);
    l.advance(0.2);
    expect(l.turn()).toBe(1);
    l.advance(0.29);
    expect(l.turn()).toBe(1);
    // …and lets the loop sleep once it has passed.
    l.advance(0.02);
    expect(l.turn()).toBe(1); // this turn finds the window closed and schedules nothing
    expect(l.turn()).toBe(0);
  });

  it('leaves the window alone when it caught the request, so it settles near the usual gap', () => {
    const l = pollerWithFakeLoop(0.5);
    l.request(1000);
    l.request(0.2); // from nothing to a quarter of the maximum
    l.request(0.2); // longer than 0.125: grows
    expect(l.poller.window).toBe(0.25);
    for (let i = 0; i < 3; i++) l.request(0.2);
    expect(l.poller.window).toBe(0.25); // caught every time: no need to grow
  });

  it('starts the window from the first turn after the reply (the reply is written after the request is counted answered)', () => {
    const l = pollerWithFakeLoop(0.5);
    l.busy(); // the last of these was just answered
    l.advance(0.4); // its reply's write takes a while before the loop turns
    expect(l.turn()).toBe(1);
    l.advance(0.45);
    expect(l.turn()).toBe(1); // 0.85 ms after ended(), but 0.45 after the first turn: still polling
    l.advance(0.1);
    expect(l.turn()).toBe(1);
    expect(l.turn()).toBe(0);
  });

  it('runs one chain of polls however many requests end while it runs', () => {
    const l = pollerWithFakeLoop(0.5);
    l.busy();
    l.request(0.1);
    l.request(0.1);
    expect(l.turn()).toBe(1);
    l.request(0.1);
    expect(l.turn()).toBe(1);
  });

  it('stops polling as soon as a request arrives, and starts again when it is answered', () => {
    const l = pollerWithFakeLoop(0.5);
    l.busy();
    expect(l.turn()).toBe(1);
    l.poller.started();
    expect(l.turn()).toBe(1); // the pending turn sees the request and stops
    expect(l.turn()).toBe(0);
    l.poller.ended();
    expect(l.turn()).toBe(1);
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
    expect(l.turn()).toBe(0);
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
    expect(l.turn()).toBe(1); // the turn scheduled earlier finds a request in flight…
    expect(l.turn()).toBe(0); // …and does not poll
    l.poller.ended();
    expect(l.turn()).toBe(1); // all answered: poll
  });

  it('never polls when turned off or stopped', () => {
    const off = pollerWithFakeLoop(0);
    for (let i = 0; i < 5; i++) off.request(0.01);
    expect(off.turn()).toBe(0);

    const l = pollerWithFakeLoop(0.5);
    l.busy();
    l.poller.stop();
    l.turn();
    l.request(0.1);
    expect(l.turn()).toBe(0);
  });
});

import { BlockList, isIP } from 'node:net';
import { NetworkDriver, PodNetworkRequest, PodNetworkStatus } from '../drivers/network-driver';
import { CONFORMANCE_NAME_PREFIX, newRunId, shortId } from './suite-helpers';

/** A pod sandbox's network namespace, made for the suite. */
export interface NetworkSandbox {
  /** Path of the network namespace, e.g. `/var/run/netns/<name>` (what `PodNetworkRequest.netnsPath` carries). */
  netnsPath: string;
  /** Removes the namespace. The suite detaches first. */
  cleanup(): Promise<void>;
}

/** One network driver under test, made by the suite's factory. */
export interface NetworkUnderTest {
  driver: NetworkDriver;
  /** A fresh network namespace (a real test runs `ip netns add`; a fake may hand out any path). */
  newSandbox(): Promise<NetworkSandbox>;
  /** The range pod addresses come from, in CIDR notation (`10.88.0.0/16`, `fd00::/64`). */
  podCidr: string;
  /** Releases what the factory made. Runs once, after all tests and after the suite detached its pods. */
  cleanup(): Promise<void>;
}

export interface NetworkConformanceOptions {
  /** Per-test timeout, in ms. Default 30000. */
  timeoutMs?: number;
  /** How many pods the distinct-addresses test attaches. Default 5. */
  pods?: number;
}

/** Whether `ip` lies within `cidr` (`a.b.c.d/len` or an IPv6 equivalent; host bits in `cidr` are ignored). */
export function ipInCidr(ip: string, cidr: string): boolean {
  const [base, lengthText] = cidr.split('/');
  const family = isIP(base);
  if (family === 0 || isIP(ip) !== family) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const subnet = new BlockList();
  try {
    subnet.addSubnet(base, lengthText === undefined ? (family === 4 ? 32 : 128) : Number(lengthText), type);
  } catch {
    return false; // not a prefix length
  }
  return subnet.check(ip, type);
}

/**
 * The conformance suite every {@link NetworkDriver} passes, CNI style:
 * attach gives a pod an address in the pod range (and says where), check
 * reports the attachment, attach again returns the same address, pods get
 * distinct addresses, detach ends it, and detach and check of unknown pods
 * are harmless.
 *
 * Call it at the top level of a test file. `factory` runs once, in
 * `beforeAll`; each test makes its sandboxes with `newSandbox` and the suite
 * detaches and removes them after the test. A real driver needs root (and
 * `ip netns`) to run it.
 *
 * ```ts
 * describeNetworkConformance('bridge', async () => ({
 *   driver: new CniBridgeDriver({ subnet: '10.99.0.0/24' }),
 *   podCidr: '10.99.0.0/24',
 *   newSandbox: async () => {
 *     const name = `kconf-${randomUUID().slice(0, 8)}`;
 *     execFileSync('ip', ['netns', 'add', name]);
 *     return { netnsPath: `/var/run/netns/${name}`, cleanup: async () => execFileSync('ip', ['netns', 'del', name]) };
 *   },
 *   cleanup: async () => undefined,
 * }));
 * ```
 *
 * Decisions the suite pins down where the interface leaves room:
 * - `ip` is a bare address (no `/len`) inside `podCidr`; `cidr`, when
 *   given, contains `ip`; `gateway`, when given, is an address other than
 *   `ip`; `interfaceName`, when given, is not empty.
 * - A second attach of the same pod (same podUid and sandboxId) returns the
 *   same `ip` and leaves the attachment intact.
 * - `check` of a pod never attached, or detached, resolves false (it does
 *   not throw); `detach` of a pod never attached resolves.
 * - A pod attached again after detach gets a working attachment (any
 *   address in the range).
 */
export function describeNetworkConformance(
  name: string,
  factory: () => Promise<NetworkUnderTest>,
  options: NetworkConformanceOptions = {},
): void {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const podCount = options.pods ?? 5;
  const runId = newRunId();

  describe(`network conformance: ${name}`, () => {
    let underTest: NetworkUnderTest | undefined;
    let driver: NetworkDriver;
    const pods: { req: PodNetworkRequest; sandbox: NetworkSandbox }[] = [];

    beforeAll(async () => {
      underTest = await factory();
      driver = underTest.driver;
    }, timeoutMs);

    afterEach(async () => {
      for (const { req, sandbox } of pods.splice(0)) {
        await driver.detach(req).catch(() => undefined);
        await sandbox.cleanup().catch(() => undefined);
      }
    }, timeoutMs);

    afterAll(async () => {
      await underTest?.cleanup();
    }, timeoutMs);

    const test = (title: string, fn: () => Promise<void>) => it(title, fn, timeoutMs);

    /** A request for a new pod in a new sandbox (not yet attached). */
    async function newPod(tag: string): Promise<PodNetworkRequest> {
      const sandbox = await underTest!.newSandbox();
      const id = shortId();
      const req: PodNetworkRequest = {
        podUid: `${CONFORMANCE_NAME_PREFIX}${runId}-${id}`,
        podName: `conf-${tag}-${id}`,
        podNamespace: 'kern-conformance',
        sandboxId: `${CONFORMANCE_NAME_PREFIX}sandbox-${runId}-${id}`,
        netnsPath: sandbox.netnsPath,
      };
      pods.push({ req, sandbox });
      return req;
    }

    function expectValidStatus(status: PodNetworkStatus): void {
      const cidr = underTest!.podCidr;
      expect(isIP(status.ip)).not.toBe(0);
      if (!ipInCidr(status.ip, cidr)) throw new Error(`attach returned ${status.ip}, which is outside the pod range ${cidr}`);
      if (status.cidr !== undefined && !ipInCidr(status.ip, status.cidr)) {
        throw new Error(`attach returned ${status.ip} with cidr ${status.cidr}, which does not contain it`);
      }
      if (status.gateway !== undefined) {
        expect(isIP(status.gateway)).not.toBe(0);
        expect(status.gateway).not.toBe(status.ip);
      }
      if (status.interfaceName !== undefined) expect(status.interfaceName).not.toBe('');
    }

    test('attach returns an address in the pod range, and check is then true', async () => {
      const pod = await newPod('attach');
      const status = await driver.attach(pod);
      expectValidStatus(status);
      expect(await driver.check(pod)).toBe(true);
    });

    test('attaching the same pod again is idempotent: the same address, still intact', async () => {
      const pod = await newPod('again');
      const first = await driver.attach(pod);
      const second = await driver.attach(pod);
      expect(second.ip).toBe(first.ip);
      expectValidStatus(second);
      expect(await driver.check(pod)).toBe(true);
    });

    test(`${podCount} pods get ${podCount} different addresses`, async () => {
      const addresses: string[] = [];
      for (let i = 0; i < podCount; i++) {
        const status = await driver.attach(await newPod(`many${i}`));
        expectValidStatus(status);
        addresses.push(status.ip);
      }
      expect(new Set(addresses).size).toBe(podCount);
    });

    test('detach ends the attachment: check is then false, and the other pods stay attached', async () => {
      const leaving = await newPod('leaving');
      const staying = await newPod('staying');
      await driver.attach(leaving);
      await driver.attach(staying);
      await driver.detach(leaving);
      expect(await driver.check(leaving)).toBe(false);
      expect(await driver.check(staying)).toBe(true);
    });

    test('detach is idempotent, also for a pod never attached', async () => {
      const pod = await newPod('detach');
      await driver.attach(pod);
      await driver.detach(pod);
      await driver.detach(pod);
      await driver.detach(await newPod('never'));
    });

    test('check of a pod never attached is false', async () => {
      expect(await driver.check(await newPod('unknown'))).toBe(false);
    });

    test('a detached pod can be attached again', async () => {
      const pod = await newPod('reattach');
      await driver.attach(pod);
      await driver.detach(pod);
      expectValidStatus(await driver.attach(pod));
      expect(await driver.check(pod)).toBe(true);
    });
  });
}

import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetworkDriver, PodNetworkRequest, PodNetworkStatus } from '../drivers/network-driver';
import { errors } from '../errors';
import { describeNetworkConformance, ipInCidr } from './network-conformance';

/** A reference network driver: addresses from 10.77.3.0/24, temp files as "network namespaces". */
class FakeNetworkDriver implements NetworkDriver {
  readonly name = 'fake';
  /** sandboxId → attachment. */
  private readonly attached = new Map<string, { ip: string; netnsPath: string }>();

  async attach(req: PodNetworkRequest): Promise<PodNetworkStatus> {
    if (!existsSync(req.netnsPath)) throw errors.failedPrecondition(`network namespace ${req.netnsPath} does not exist`);
    let entry = this.attached.get(req.sandboxId);
    if (!entry) {
      const used = new Set([...this.attached.values()].map((a) => a.ip));
      const free = Array.from({ length: 253 }, (_, i) => `10.77.3.${i + 2}`).find((ip) => !used.has(ip));
      if (!free) throw new Error('pod range exhausted');
      entry = { ip: free, netnsPath: req.netnsPath };
      this.attached.set(req.sandboxId, entry);
    }
    return { ip: entry.ip, gateway: '10.77.3.1', interfaceName: 'eth0', cidr: '10.77.3.0/24' };
  }

  async detach(req: PodNetworkRequest): Promise<void> {
    this.attached.delete(req.sandboxId);
  }

  async check(req: PodNetworkRequest): Promise<boolean> {
    const entry = this.attached.get(req.sandboxId);
    return entry !== undefined && entry.netnsPath === req.netnsPath && existsSync(entry.netnsPath);
  }
}

let dir: string;
let sandboxes = 0;
const driver = new FakeNetworkDriver();

describeNetworkConformance('fake reference', async () => {
  dir = await mkdtemp(join(tmpdir(), 'kern-network-conformance-'));
  return {
    driver,
    podCidr: '10.77.3.0/24',
    newSandbox: async () => {
      const netnsPath = join(dir, `netns-${++sandboxes}`);
      await writeFile(netnsPath, '');
      return { netnsPath, cleanup: () => rm(netnsPath, { force: true }) };
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('ipInCidr', () => {
  it.each<[string, string, boolean]>([
    ['10.77.3.9', '10.77.3.0/24', true],
    ['10.77.4.9', '10.77.3.0/24', false],
    ['10.77.3.9', '10.77.3.9/32', true],
    ['10.77.3.9', '10.77.3.5/24', true],
    ['192.168.1.1', '0.0.0.0/0', true],
    ['fd00::5', 'fd00::/64', true],
    ['fd00:0:0:1::5', 'fd00::/64', false],
    ['::ffff:10.0.0.1', '::ffff:10.0.0.0/120', true],
    ['10.0.0.1', 'fd00::/64', false],
    ['not-an-ip', '10.0.0.0/8', false],
    ['10.0.0.1', '10.0.0.0/33', false],
  ])('%s in %s: %s', (ip, cidr, expected) => {
    expect(ipInCidr(ip, cidr)).toBe(expected);
  });
});

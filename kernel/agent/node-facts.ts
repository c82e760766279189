import { readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';

/** What the agent reads off the machine it runs on. */
export interface MachineFacts {
  hostname: string;
  cpus: number;
  memoryBytes: number;
  arch: string;
  os: string;
  kernelVersion: string;
  osImage: string;
  address: string;
}

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

export function readMachineFacts(): MachineFacts {
  let osImage = os.type();
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) osImage = m[1];
  } catch { /* not every system has it */ }
  return {
    hostname: os.hostname(),
    cpus: os.cpus().length,
    memoryBytes: os.totalmem(),
    arch: ARCH[process.arch] ?? process.arch,
    os: process.platform,
    kernelVersion: os.release(),
    osImage,
    address: '127.0.0.1',
  };
}

/** Bytes of memory still available (MemAvailable), falling back to free memory. */
export function availableMemoryBytes(): number {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch { /* not Linux */ }
  return os.freemem();
}

/** Fraction (0..1) of the file system holding `dir` that is still free. */
export function freeDiskFraction(dir: string): number {
  try {
    const s = statfsSync(dir);
    return s.blocks > 0 ? s.bavail / s.blocks : 1;
  } catch {
    return 1;
  }
}

/** A node name from a host name: lower-case DNS subdomain. */
export function nodeNameFrom(hostname: string): string {
  const n = hostname.toLowerCase().replace(/[^a-z0-9.-]/g, '-').replace(/^[-.]+|[-.]+$/g, '');
  return n || 'node';
}

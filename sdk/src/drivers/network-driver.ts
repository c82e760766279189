import { createToken } from '../tokens';

export interface PodNetworkRequest {
  podUid: string;
  podName: string;
  podNamespace: string;
  sandboxId: string;
  /** Network namespace path of the pod sandbox. */
  netnsPath: string;
}

export interface PodNetworkStatus {
  ip: string;
  gateway?: string;
  interfaceName?: string;
  cidr?: string;
}

/** Attaches pod sandboxes to the cluster network (CNI-style ADD/DEL/CHECK). */
export interface NetworkDriver {
  readonly name: string;
  /** Wires the sandbox; calling it again for the same sandbox returns the same address. */
  attach(req: PodNetworkRequest): Promise<PodNetworkStatus>;
  /** Idempotent. */
  detach(req: PodNetworkRequest): Promise<void>;
  /** Ok when the attachment is intact. */
  check(req: PodNetworkRequest): Promise<boolean>;
}

export const NetworkDriver = createToken<NetworkDriver>('driver.network');

import { createToken } from '../tokens';

export interface VolumeCapabilities {
  /** Can be mounted read-write by pods on several nodes at once. */
  readWriteMany: boolean;
  expand: boolean;
  snapshot: boolean;
}

export interface CreateVolumeRequest {
  name: string;
  capacityBytes: number;
  parameters?: Record<string, string>;
}

export interface VolumeInfo {
  id: string;
  capacityBytes: number;
  context?: Record<string, string>;
}

/** Block/file volumes in the CSI style: create/delete, then stage and publish on a node. */
export interface VolumeDriver {
  readonly name: string;
  capabilities(): Promise<VolumeCapabilities>;
  /** Idempotent by name. */
  createVolume(req: CreateVolumeRequest): Promise<VolumeInfo>;
  /** Idempotent. */
  deleteVolume(id: string): Promise<void>;
  /** Makes the volume ready on this node (attach, format, mount at `stagingPath`). */
  stage(id: string, stagingPath: string): Promise<void>;
  unstage(id: string, stagingPath: string): Promise<void>;
  /** Makes the staged volume visible at `targetPath` for one pod. */
  publish(id: string, stagingPath: string, targetPath: string, readOnly: boolean): Promise<void>;
  unpublish(id: string, targetPath: string): Promise<void>;
}

export const VolumeDriver = createToken<VolumeDriver>('driver.volume');

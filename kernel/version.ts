import { KERNEL_ABI_VERSION } from '@kern/sdk';

/** Kern's release version (the root package's) and the syscall ABI it serves. */
export const KERN_VERSION = '0.1.0';
export const KERN_ABI = KERNEL_ABI_VERSION;

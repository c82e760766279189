/** The convention `kern-sdk conformance` loads an in-process driver by. */
export const CONFORMANCE_EXPORT = 'createConformanceTarget';

/**
 * The module's `createConformanceTarget` (a named export, or a property of
 * the default export), when it has one: a function returning what the
 * kind's suite takes from its factory (`RuntimeUnderTest`,
 * `StoreUnderTest`).
 */
export function conformanceTargetOf(moduleExports: unknown): (() => Promise<unknown>) | undefined {
  const mod = moduleExports as Record<string, unknown> & { default?: Record<string, unknown> } | undefined;
  const create = mod?.[CONFORMANCE_EXPORT] ?? mod?.default?.[CONFORMANCE_EXPORT];
  return typeof create === 'function' ? (create as () => Promise<unknown>) : undefined;
}

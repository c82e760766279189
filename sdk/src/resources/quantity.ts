import { errors } from '../errors';

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const QUANTITY = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]{0,2})$/;

/**
 * Parses a Kubernetes quantity (`500m`, `2`, `256Mi`, `1G`, `1e3`) to a plain
 * number of base units. Throws Invalid naming `field` when it is not one.
 */
export function parseQuantity(value: string | number, field = 'quantity'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw errors.invalid(field, `must be a non-negative quantity, got ${value}`);
    return value;
  }
  const m = typeof value === 'string' ? QUANTITY.exec(value.trim()) : null;
  const n = m ? Number(m[1]) : NaN;
  const factor = m ? (BINARY[m[2]] ?? DECIMAL[m[2]]) : undefined;
  if (!m || !Number.isFinite(n) || factor === undefined || n < 0) {
    throw errors.invalid(field, `"${value}" is not a quantity (examples: 500m, 2, 256Mi, 8Gi)`);
  }
  return n * factor;
}

/** CPU quantity to millicores (`500m` → 500, `2` → 2000). */
export function parseCpuMillis(value: string | number, field = 'cpu'): number {
  return Math.round(parseQuantity(value, field) * 1000);
}

/** Memory quantity to bytes (`256Mi` → 268435456). */
export function parseMemoryBytes(value: string | number, field = 'memory'): number {
  return Math.round(parseQuantity(value, field));
}

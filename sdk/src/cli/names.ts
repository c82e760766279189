import { errors } from '../errors';
import { DRIVER_KINDS, DriverKind } from '../plugin';

const DRIVER_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** The driver name, checked: kebab-case, as plugin ids and driver names are (`raw-exec`). */
export function checkDriverName(name: string): string {
  if (!DRIVER_NAME.test(name ?? '') || name.length > 63) {
    throw errors.invalid('NAME', `"${name}" is not a driver name: use lower-case letters, digits and single dashes, starting with a letter (e.g. raw-exec)`);
  }
  return name;
}

/** The driver kind, checked against the sdk's kinds. */
export function checkDriverKind(kind: string): DriverKind {
  if (!(DRIVER_KINDS as readonly string[]).includes(kind)) {
    throw errors.invalid('KIND', `"${kind}" is not a driver kind: use one of ${DRIVER_KINDS.join(', ')}`);
  }
  return kind as DriverKind;
}

/** `raw-exec` → `RawExec`. */
export function pascalCase(name: string): string {
  return name.split('-').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('');
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** This package's version (package.json sits one level above both src/ and dist/). */
export const RAW_EXEC_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

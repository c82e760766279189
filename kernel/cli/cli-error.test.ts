import { KernelError, errors, isConflict, isInvalid, isNotFound } from '@kern/sdk';
import { formatError, statusToError, unreachable, isConnectionError } from './cli-error';

describe('statusToError', () => {
  it('keeps message, field and code of a Status reply', () => {
    const e = statusToError(422, {
      kind: 'Status', status: 'Failure', reason: 'Invalid', code: 422, kernCode: 'KERN_ERR_INVALID',
      message: 'spec.containers[0].imag: unknown field (did you mean "image"?)',
      details: { causes: [{ field: 'spec.containers[0].imag', message: 'unknown field' }] },
    });
    expect(isInvalid(e)).toBe(true);
    expect(e.field).toBe('spec.containers[0].imag');
    expect(e.code).toBe('KERN_ERR_INVALID');
    expect(e.message).toContain('unknown field');
  });

  it.each([
    [409, { kind: 'Status', reason: 'Conflict', message: 'stale' }, isConflict],
    [404, { kind: 'Status', message: 'pod "x" not found' }, isNotFound],
    [409, { kind: 'Status', reason: 'AlreadyExists', message: 'x' }, (e: unknown) => (e as KernelError).kind === 'AlreadyExists'],
  ])('maps %d %j to the right kind', (status, body, predicate) => {
    expect(predicate(statusToError(status, body))).toBe(true);
  });

  it('says what came back when the body is no Status', () => {
    expect(statusToError(502, undefined, '<html>bad gateway</html>').message).toBe('server replied 502: <html>bad gateway</html>');
  });
});

describe('formatError', () => {
  it('prints one line plus the field', () => {
    expect(formatError(errors.invalid('spec.containers[0].image', 'is required'))).toEqual([
      'error: spec.containers[0].image: is required',
      '  field: spec.containers[0].image',
    ]);
  });

  it('says how to start Kern when nothing listens', () => {
    expect(formatError(unreachable('http://127.0.0.1:7070', new Error('ECONNREFUSED')))).toEqual([
      'error: cannot reach Kern at http://127.0.0.1:7070: is `kern up` running?',
    ]);
  });

  it('adds the stack only with debug', () => {
    const e = new Error('boom');
    expect(formatError(e)).toEqual(['error: boom']);
    expect(formatError(e, { debug: true }).join('\n')).toMatch(/error: boom\nError: boom\n\s+at /);
  });

  it('prefixes the object a failure belongs to', () => {
    expect(formatError(new Error('no'), { prefix: 'pod/web (a.yaml:1)' })).toEqual(['error: pod/web (a.yaml:1): no']);
  });
});

describe('isConnectionError', () => {
  const err = (code: string, syscall?: string) => Object.assign(new Error(code), { code, syscall });
  it('counts a refused or reset connection, and a Unix socket gone on connect', () => {
    expect(isConnectionError(err('ECONNREFUSED', 'connect'))).toBe(true);
    expect(isConnectionError(err('ECONNRESET', 'read'))).toBe(true);
    expect(isConnectionError(err('ENOENT', 'connect'))).toBe(true);
  });
  it('leaves a missing file alone (an upload that cannot be read is not an unreachable kernel)', () => {
    expect(isConnectionError(err('ENOENT', 'open'))).toBe(false);
    expect(isConnectionError(err('EACCES', 'open'))).toBe(false);
  });
});

import { CORE_KINDS, KernObject } from '@kern/sdk';
import { validateObject } from './validation';

const CONFIG_MAP = CORE_KINDS.find((k) => k.kind === 'ConfigMap')!;
const configMap = (fields: Record<string, unknown>): KernObject =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'default' }, ...fields }) as unknown as KernObject;

describe('ConfigMap validation', () => {
  it.each([
    ['no data at all', {}],
    ['string data', { data: { 'app.properties': 'a=1\n', '.hidden': '', 'UPPER_case-1': 'x' } }],
    ['base64 binaryData', { binaryData: { 'logo.png': 'iVBORw0KGgo=', empty: '' } }],
    ['both, with other keys', { data: { a: '1' }, binaryData: { b: 'AAAA' }, immutable: true }],
    ['null data', { data: null }],
    ['null values, read as empty', { data: { a: null }, binaryData: { b: null }, immutable: null }],
    ['binaryData wrapped over lines, as base64 prints it', { binaryData: { b: 'AAAA\nAAAA\r\nAA==\n' } }],
  ])('accepts %s', (_what, fields) => {
    expect(() => validateObject(configMap(fields), CONFIG_MAP)).not.toThrow();
  });

  it.each([
    ['a nested value', { data: { a: { b: 1 } } }, 'data.a', /must be a string.*write the nested value out as text/],
    ['a number', { data: { replicas: 3 } }, 'data.replicas', /must be a string, got 3 \(quote numbers/],
    ['a list as data', { data: ['a'] }, 'data', /map of strings/],
    ['a key with a slash', { data: { 'a/b': 'x' } }, 'data.a/b', /bad key/],
    ['the key ".."', { data: { '..': 'x' } }, 'data...', /bad key/],
    ['a key starting with ".."', { data: { '..data': 'x' } }, 'data...data', /bad key/],
    ['a key over 253 characters', { data: { ['k'.repeat(254)]: 'x' } }, `data.${'k'.repeat(254)}`, /bad key/],
    ['binaryData that is not base64', { binaryData: { b: 'not base64!' } }, 'binaryData.b', /must be base64/],
    ['a key in data and binaryData', { data: { k: 'x' }, binaryData: { k: 'AAAA' } }, 'binaryData.k', /in data and in binaryData/],
    ['a spec', { spec: { a: 'b' } }, 'spec', /has no spec/],
    ['immutable as text', { immutable: 'yes' }, 'immutable', /true or false/],
  ])('refuses %s, naming the field', (_what, fields, field, message) => {
    let err: { field?: string; message: string } | undefined;
    try { validateObject(configMap(fields), CONFIG_MAP); } catch (e) { err = e as typeof err; }
    expect(err?.field).toBe(field);
    expect(err?.message).toMatch(message);
  });
});

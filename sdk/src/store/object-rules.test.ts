import { KernObject } from '../resources/meta';
import { prepareCreate, storedForm, writtenJsonOf } from './object-rules';

const pod = (): KernObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [] } });

describe('storedForm', () => {
  it('hands out a private copy equal to the stored JSON', () => {
    const prepared = prepareCreate(pod(), 7);
    const { data, object } = storedForm(prepared);
    expect(JSON.parse(data)).toEqual(object);
    expect(object).not.toBe(prepared);
    expect(object.spec).not.toBe(prepared.spec);
    expect(object.metadata.resourceVersion).toBe('7');
  });

  it('remembers the JSON of its copies only, for a reply', () => {
    const { data, object } = storedForm(prepareCreate(pod(), 1));
    expect(writtenJsonOf(object)).toBe(data);
    expect(writtenJsonOf({ ...object })).toBeUndefined();
    expect(writtenJsonOf(pod())).toBeUndefined();
    expect(writtenJsonOf(undefined)).toBeUndefined();
    expect(writtenJsonOf('text')).toBeUndefined();
  });
});

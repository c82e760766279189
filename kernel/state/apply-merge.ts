import { KernObject, cloneObject } from '@kern/sdk';

/** Where `kern apply` keeps what it applied last, as kubectl does. */
export const LAST_APPLIED = 'kern.io/last-applied-configuration';

type Json = Record<string, unknown>;
const isMap = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Three-way merge of a map: fields of `desired` win, fields that were
 * applied last time but are gone from `desired` are removed, and fields
 * nobody applied (set by controllers: `spec.nodeName`, finalizers) stay.
 * Lists are replaced whole.
 */
export function mergeApplied(current: Json, lastApplied: Json | undefined, desired: Json): Json {
  const out: Json = { ...current };
  for (const [k, v] of Object.entries(desired)) {
    out[k] = isMap(v) && isMap(current[k]) ? mergeApplied(current[k] as Json, isMap(lastApplied?.[k]) ? (lastApplied![k] as Json) : undefined, v) : cloneObject(v);
  }
  for (const k of Object.keys(lastApplied ?? {})) {
    if (!(k in desired)) delete out[k];
  }
  return out;
}

/**
 * The object an apply of `manifest` onto `current` stores: body and
 * metadata merged three-way against the last applied manifest (kept in an
 * annotation), status untouched.
 */
export function applyManifest(current: KernObject, manifest: KernObject): KernObject {
  const desired = cloneObject(manifest) as unknown as Json;
  const desiredMeta = (desired.metadata ?? {}) as Json;
  delete desired.status;
  delete desiredMeta.resourceVersion;
  let last: Json | undefined;
  try {
    const text = current.metadata.annotations?.[LAST_APPLIED];
    last = text ? (JSON.parse(text) as Json) : undefined;
  } catch {
    last = undefined;
  }
  const { metadata: lastMeta, ...lastBody } = last ?? {};
  const { metadata: _m, ...desiredBody } = desired;
  const { metadata: currentMeta, status, ...currentBody } = current as unknown as Json;
  const body = mergeApplied(currentBody, last ? lastBody : undefined, desiredBody);
  const meta = mergeApplied(currentMeta as Json, isMap(lastMeta) ? lastMeta : undefined, desiredMeta);
  const annotations = { ...((meta.annotations as Record<string, string>) ?? {}), [LAST_APPLIED]: JSON.stringify(withoutLastApplied(desired)) };
  return { ...body, metadata: { ...meta, annotations }, ...(status !== undefined ? { status } : {}) } as unknown as KernObject;
}

/** The manifest as recorded: without the annotation itself, so it does not nest. */
export function withoutLastApplied(manifest: Json): Json {
  const copy = cloneObject(manifest);
  const md = copy.metadata as Json | undefined;
  const ann = md?.annotations as Record<string, string> | undefined;
  if (ann && LAST_APPLIED in ann) {
    delete ann[LAST_APPLIED];
    if (Object.keys(ann).length === 0) delete md!.annotations;
  }
  return copy;
}

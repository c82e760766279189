import type Koa from 'koa';
import {
  KernObject, KindInfo, ObjectList, SyscallWatch, WatchArgs, WatchEvent, errors, isTooOld, parseApiVersion, writtenJsonOf,
} from '@kern/sdk';
import { ApiContext } from '../api-context';
import { Caller } from '../../syscalls/syscall-table';
import { readBody, parseBody, requireObject } from './body';
import { badRequest, httpError } from './status';
import { EventStream, StreamTracker, openEventStream, watchEventJson } from './watch-stream';

/**
 * The Kubernetes-shaped resource API: `/api/v1/...` for the core group,
 * `/apis/{group}/{version}/...` for the others. Every read and write goes
 * through the syscall table with the request's caller, so permissions and
 * metrics are the same as for any other client.
 */

/** What one request needs besides the Koa context. */
export interface RequestScope {
  api: ApiContext;
  caller: Caller;
  tracker: StreamTracker;
}

/** A resource path, split: `[namespaces/{ns}/]{plural}[/{name}[/status]]`. */
export interface ResourcePath {
  plural: string;
  namespace?: string;
  name?: string;
  subresource?: 'status';
}

/**
 * Splits the segments after the group/version prefix. `namespaces/{name}` is
 * the Namespace object itself and `namespaces/{name}/status` its status;
 * `namespaces/{ns}/{plural}...` is a namespaced resource.
 */
export function parseResourcePath(segments: string[]): ResourcePath | undefined {
  const s = segments;
  const sub = (x: string | undefined) => (x === 'status' ? 'status' as const : undefined);
  switch (s.length) {
    case 1: return { plural: s[0] };
    case 2: return { plural: s[0], name: s[1] };
    case 3:
      if (s[0] === 'namespaces' && s[2] !== 'status') return { namespace: s[1], plural: s[2] };
      return s[2] === 'status' ? { plural: s[0], name: s[1], subresource: 'status' } : undefined;
    case 4: return s[0] === 'namespaces' ? { namespace: s[1], plural: s[2], name: s[3] } : undefined;
    case 5: return s[0] === 'namespaces' && sub(s[4]) ? { namespace: s[1], plural: s[2], name: s[3], subresource: 'status' } : undefined;
    default: return undefined;
  }
}

/** Path segments after `prefixLength` segments, percent-decoded; 400 on bad escapes. */
export function pathSegments(path: string, prefixLength: number): string[] {
  // By hand rather than split/filter/slice: String#split is a runtime call
  // on this V8, and the prefix is skipped without copying it.
  const parts: string[] = [];
  let skip = prefixLength;
  for (let from = 0; from < path.length;) {
    let to = path.indexOf('/', from);
    if (to < 0) to = path.length;
    if (to > from) {
      if (skip > 0) skip--;
      else parts.push(path.slice(from, to));
    }
    from = to + 1;
  }
  if (!path.includes('%')) return parts;
  try {
    return parts.map(decodeURIComponent);
  } catch {
    throw badRequest(`the path ${path} has a malformed percent escape`);
  }
}

/** 404 for a path the API does not serve. */
export function routeNotFound(path: string, hint = ''): Error {
  return httpError('NotFound', 404, 'NotFound', `the server could not find the requested resource ${path}${hint}`, { code: 'KERN_ERR_API_ROUTE_NOT_FOUND' });
}

/** 405 for a verb the path does not support. */
export function methodNotAllowed(method: string, path: string, allowed: string[]): Error {
  return httpError('NotImplemented', 405, 'MethodNotAllowed', `${method} is not supported on ${path}: use ${allowed.join(', ')}`, { code: 'KERN_ERR_API_METHOD_NOT_ALLOWED' });
}

/** Handles one request under `/api/v1` (apiVersion `v1`) or `/apis/{group}/{version}`. */
export async function handleResourceRequest(c: Koa.Context, scope: RequestScope, apiVersion: string, segments: string[]): Promise<void> {
  if (segments.length === 0) {
    if (c.method !== 'GET') throw methodNotAllowed(c.method, c.path, ['GET']);
    c.body = resourceList(scope.api, apiVersion, c.path);
    return;
  }
  const route = parseResourcePath(segments);
  const info = route && scope.api.kinds.byPath(apiVersion, route.plural);
  if (!route || !info) throw routeNotFound(c.path);
  if (route.namespace !== undefined && !info.namespaced) {
    throw routeNotFound(c.path, `: ${info.kind} is cluster-scoped, so its path has no namespace (${prefix(apiVersion)}/${info.plural})`);
  }
  if (route.name !== undefined && info.namespaced && route.namespace === undefined) {
    throw routeNotFound(c.path, `: ${info.kind} is namespaced, so name it as ${prefix(apiVersion)}/namespaces/{namespace}/${info.plural}/${route.name}`);
  }
  // Read off the raw request once: each `c.method` is two getters deep in Koa.
  const method = c.req.method ?? 'GET';
  if (method !== 'GET' && query(c, 'dryRun')) {
    // Ignoring it would write for real what the client meant as a rehearsal.
    throw badRequest('dryRun is not supported yet: leave it out to write, or skip the request', { field: 'dryRun', code: 'KERN_ERR_API_DRY_RUN_UNSUPPORTED' });
  }
  if (route.name === undefined) {
    if (method === 'GET') return isWatch(c) ? watchCollection(c, scope, info, route) : listCollection(c, scope, info, route);
    if (method === 'POST') return createObject(c, scope, info, route);
    throw methodNotAllowed(method, c.path, ['GET', 'POST']);
  }
  if (route.subresource === 'status') {
    if (method === 'GET') return getObject(c, scope, info, route);
    if (method === 'PUT') return updateObject(c, scope, info, route);
    throw methodNotAllowed(method, c.path, ['GET', 'PUT']);
  }
  switch (method) {
    case 'GET': return getObject(c, scope, info, route);
    case 'PUT': return updateObject(c, scope, info, route);
    case 'DELETE': return deleteObject(c, scope, info, route);
    default: throw methodNotAllowed(method, c.path, ['GET', 'PUT', 'DELETE']);
  }
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** Replies with `body` as JSON and ends the response (see sendJsonText): set any other header first. */
export function sendJson(c: Koa.Context, status: number, body: unknown): void {
  sendJsonText(c, status, JSON.stringify(body));
}

/** Replies with a write's result, as the JSON the store wrote when it has it (nothing changes the result in between). */
function sendWritten(c: Koa.Context, status: number, result: unknown): void {
  sendJsonText(c, status, writtenJsonOf(result) ?? JSON.stringify(result));
}

/**
 * Ends the reply with `json` here, not in Koa's respond(): its body and
 * length setters and checks cost more than the write on this path (HEAD
 * requests get no body: Node drops it). Headers go before: nothing can be
 * added to the reply after this.
 */
function sendJsonText(c: Koa.Context, status: number, json: string): void {
  c.respond = false;
  // Headers as a flat list: with none set before, Node writes them without
  // the for-in over its header map that setHeader's path takes; headers
  // set before (WWW-Authenticate on a 401) are merged in.
  c.res.writeHead(status, ['Content-Type', JSON_TYPE, 'Content-Length', String(Buffer.byteLength(json))]);
  c.res.end(json);
}

function prefix(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

function query(c: Koa.Context, name: string): string | undefined {
  // Most requests have no query string: skip Koa's parse (and its cache object).
  if (!c.req.url?.includes('?')) return undefined;
  const v = c.query[name];
  return Array.isArray(v) ? v[0] : v;
}

function isWatch(c: Koa.Context): boolean {
  const w = query(c, 'watch');
  return w === 'true' || w === '1';
}

function positiveInt(c: Koa.Context, name: string): number | undefined {
  const v = query(c, name);
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw errors.invalid(name, `must be a whole number ≥ 0, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** `metadata.name=x,metadata.namespace!=y`: the field selectors kubectl sends. */
type FieldFilter = (o: KernObject) => boolean;

function fieldFilter(c: Koa.Context): FieldFilter | undefined {
  const text = query(c, 'fieldSelector');
  if (!text || !text.trim()) return undefined;
  const tests = text.split(',').map((part) => {
    const m = /^\s*([A-Za-z.]+)\s*(==|=|!=)\s*([^,]*?)\s*$/.exec(part);
    if (!m) throw errors.invalid('fieldSelector', `cannot parse "${part}" (use metadata.name=x or metadata.namespace!=y)`);
    const [, field, op, value] = m;
    const get = field === 'metadata.name' ? (o: KernObject) => o.metadata.name
      : field === 'metadata.namespace' ? (o: KernObject) => o.metadata.namespace ?? ''
        : undefined;
    if (!get) throw errors.invalid('fieldSelector', `field "${field}" is not supported (only metadata.name and metadata.namespace)`);
    return op === '!=' ? (o: KernObject) => get(o) !== value : (o: KernObject) => get(o) === value;
  });
  return (o) => tests.every((t) => t(o));
}

async function listCollection(c: Koa.Context, scope: RequestScope, info: KindInfo, route: ResourcePath): Promise<void> {
  const filter = fieldFilter(c);
  const limit = positiveInt(c, 'limit');
  const page = (size: number | undefined, token: string | undefined) => scope.api.syscalls.dispatch('state.list', {
    kind: info.kind,
    namespace: route.namespace,
    labelSelector: query(c, 'labelSelector'),
    limit: size || undefined,
    continue: token,
  }, scope.caller) as Promise<ObjectList>;
  const list = await page(limit, query(c, 'continue') || undefined);
  if (filter) {
    list.items = list.items.filter(filter);
    // The store pages before the field selector filters: fill the page from
    // the next ones, each as large as what is missing, so no page holds
    // more matches than fit and its continue token stays exact.
    while (limit && list.items.length < limit && list.metadata.continue) {
      const next = await page(limit - list.items.length, list.metadata.continue);
      list.items.push(...next.items.filter(filter));
      list.metadata.continue = next.metadata.continue;
    }
  }
  sendJson(c, 200, list);
}

async function getObject(c: Koa.Context, scope: RequestScope, info: KindInfo, route: ResourcePath): Promise<void> {
  sendJson(c, 200, await scope.api.syscalls.dispatch('state.get', { kind: info.kind, namespace: route.namespace, name: route.name }, scope.caller));
}

/**
 * The body as an object of `info`'s kind at this path: kind and apiVersion
 * default from the path, and so do the namespace and (for PUT) the name.
 * A body that names another kind, namespace or name than the path is a 400
 * naming the field, as kube-apiserver does.
 */
async function objectFromBody(c: Koa.Context, scope: RequestScope, info: KindInfo, route: ResourcePath): Promise<KernObject> {
  const raw = await readBody(c.req, scope.api.bodyLimitBytes);
  const obj = requireObject(parseBody(raw, c.req.headers['content-type']));
  if (obj.kind === undefined || obj.kind === '') obj.kind = info.kind;
  else if (obj.kind !== info.kind) throw badRequest(`kind: the body is a ${JSON.stringify(obj.kind)} but ${c.path} serves ${info.kind}`, { field: 'kind' });
  if (obj.apiVersion === undefined || obj.apiVersion === '') obj.apiVersion = info.apiVersion;
  else if (obj.apiVersion !== info.apiVersion) {
    throw badRequest(`apiVersion: the body has ${JSON.stringify(obj.apiVersion)} but ${c.path} serves ${info.apiVersion}`, { field: 'apiVersion' });
  }
  if (obj.metadata === undefined) obj.metadata = {};
  const md = obj.metadata as Record<string, unknown>;
  if (typeof md !== 'object' || md === null || Array.isArray(md)) throw errors.invalid('metadata', 'must be an object');
  if (route.namespace !== undefined) {
    if (md.namespace === undefined || md.namespace === '') md.namespace = route.namespace;
    else if (md.namespace !== route.namespace) {
      throw badRequest(`metadata.namespace: the body says ${JSON.stringify(md.namespace)} but the path says "${route.namespace}": make them agree or leave metadata.namespace out`, { field: 'metadata.namespace' });
    }
  }
  if (route.name !== undefined) {
    if (md.name === undefined || md.name === '') md.name = route.name;
    else if (md.name !== route.name) {
      throw badRequest(`metadata.name: the body says ${JSON.stringify(md.name)} but the path says "${route.name}"`, { field: 'metadata.name' });
    }
  }
  return obj as unknown as KernObject;
}

async function createObject(c: Koa.Context, scope: RequestScope, info: KindInfo, route: ResourcePath): Promise<void> {
  const object = await objectFromBody(c, scope, info, route);
  sendWritten(c, 201, await scope.api.syscalls.dispatch('state.create', { object }, scope.caller));
}

async function updateObject(c: Koa.Context, scope: RequestScope, info: KindInfo, route: ResourcePath): Promise<void> {
  const object = await objectFromBody(c, scope, info, route);
  sendWritten(c, 200, await scope.api.syscalls.dispatch('state.update', { object, subresource: route.subresource }, scope.caller));
}

async function deleteObject(c: Koa.Context, scope: RequestScope, info: KindInfo, route: ResourcePath): Promise<void> {
  // An optional DeleteOptions body may carry preconditions.
  const raw = await readBody(c.req, scope.api.bodyLimitBytes);
  const options = parseBody(raw, c.get('Content-Type'));
  let resourceVersion: string | undefined;
  if (options !== undefined) {
    const pre = requireObject(options, 'DeleteOptions').preconditions as { resourceVersion?: unknown } | undefined;
    if (pre?.resourceVersion !== undefined) {
      if (typeof pre.resourceVersion !== 'string') throw errors.invalid('preconditions.resourceVersion', 'must be a string');
      resourceVersion = pre.resourceVersion;
    }
  }
  sendJson(c, 200, await scope.api.syscalls.dispatch('state.delete', {
    kind: info.kind, namespace: route.namespace, name: route.name, resourceVersion,
  }, scope.caller));
}

/**
 * `?watch=1`, Kubernetes semantics: from `resourceVersion` when given;
 * without one (or `0`), the current objects first as ADDED events, then the
 * changes after them.
 */
async function watchCollection(c: Koa.Context, scope: RequestScope, info: KindInfo, route: ResourcePath): Promise<void> {
  const filter = fieldFilter(c);
  const timeoutSeconds = positiveInt(c, 'timeoutSeconds');
  const labelSelector = query(c, 'labelSelector');
  let resourceVersion = query(c, 'resourceVersion');
  let initial: KernObject[] = [];
  if (!resourceVersion || resourceVersion === '0') {
    const list = await scope.api.syscalls.dispatch('state.list', { kind: info.kind, namespace: route.namespace, labelSelector }, scope.caller) as ObjectList;
    initial = list.items;
    resourceVersion = list.metadata.resourceVersion;
  }
  const bookmark = query(c, 'allowWatchBookmarks') === 'true' || query(c, 'allowWatchBookmarks') === '1'
    ? { type: 'BOOKMARK' as const, object: { kind: info.kind, apiVersion: info.apiVersion, metadata: { resourceVersion } } }
    : undefined;
  streamWatch(c, scope, { kind: info.kind, namespace: route.namespace, labelSelector, resourceVersion }, {
    timeoutSeconds,
    filter,
    before: [...initial.map((object) => ({ type: 'ADDED' as const, object })), ...(bookmark ? [bookmark] : [])],
  });
}

export interface StreamWatchOptions {
  timeoutSeconds?: number;
  /** Only events whose object passes. */
  filter?: (o: KernObject) => boolean;
  /** Events sent before the watch's own (the initial state). */
  before?: { type: WatchEvent['type']; object: unknown }[];
}

/**
 * Starts `state.watch` for the caller and streams it as NDJSON. Errors the
 * watch refuses with at once (Forbidden, Invalid) are ordinary error replies;
 * TooOld, and whatever ends a running watch, is an ERROR event (a Status
 * with code 410 for TooOld), after which the stream ends.
 */
export function streamWatch(c: Koa.Context, scope: RequestScope, args: WatchArgs, options: StreamWatchOptions = {}): void {
  const { api, caller, tracker } = scope;
  let stream: EventStream | undefined;
  const pending: WatchEvent[] = [];
  let failure: Error | undefined;
  const filter = options.filter;
  const onEvent = (e: WatchEvent) => {
    if (filter && !filter(e.object)) return;
    if (stream) stream.sendJson(watchEventJson(e));
    else pending.push(e);
  };
  const onError = (err: Error) => {
    if (stream) stream.fail(err);
    else failure = err;
  };
  let handle: SyscallWatch | undefined;
  try {
    handle = api.syscalls.watch(args, onEvent, onError, caller);
  } catch (e) {
    if (!isTooOld(e)) throw e;
    failure = e as Error;
  }
  api.metrics.watchers.inc({ api: 'http' });
  stream = openEventStream(c, tracker, api.logger, options.timeoutSeconds);
  stream.onEnd(() => handle?.stop());
  for (const e of options.before ?? []) {
    if (!filter || e.type === 'BOOKMARK' || filter(e.object as KernObject)) stream.send(e);
  }
  for (const e of pending.splice(0)) stream.sendJson(watchEventJson(e));
  if (failure) stream.fail(failure);
}

/** `GET /api`: the core group's versions. */
export function coreVersions(): object {
  return { kind: 'APIVersions', apiVersion: 'v1', versions: ['v1'], serverAddressByClientCIDRs: [] };
}

/** `GET /apis`: every non-core group the kinds registry serves. */
export function groupList(api: ApiContext): object {
  const groups = new Map<string, Set<string>>();
  for (const k of api.kinds.list()) {
    const { group, version } = parseApiVersion(k.apiVersion);
    if (!group) continue;
    const set = groups.get(group) ?? new Set<string>();
    set.add(version);
    groups.set(group, set);
  }
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([name, versions]) => {
      const list = [...versions].sort().map((version) => ({ groupVersion: `${name}/${version}`, version }));
      return { name, versions: list, preferredVersion: list[0] };
    }),
  };
}

/** `GET /api/v1`, `GET /apis/{group}/{version}`: the resources served there. */
export function resourceList(api: ApiContext, apiVersion: string, path: string): object {
  const kinds = api.kinds.list().filter((k) => k.apiVersion === apiVersion);
  if (kinds.length === 0) throw routeNotFound(path);
  const verbs = ['create', 'delete', 'get', 'list', 'update', 'watch'];
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersion,
    resources: kinds.flatMap((k) => [
      { name: k.plural, singularName: k.singular, namespaced: k.namespaced, kind: k.kind, verbs, ...(k.shortNames?.length ? { shortNames: k.shortNames } : {}) },
      { name: `${k.plural}/status`, singularName: '', namespaced: k.namespaced, kind: k.kind, verbs: ['get', 'update'] },
    ]),
  };
}


import { isAbsolute } from 'node:path';
import Koa from 'koa';
import Router from '@koa/router';
import { KERNEL_ABI_VERSION, WatchArgs, errors } from '@kern/sdk';
import { ApiContext } from '../api-context';
import { Caller } from '../../syscalls/syscall-table';
import { parseBody, readBody, requireObject } from './body';
import { importImage } from './image-import';
import { bindPod } from './pod-binding';
import {
  RequestScope, coreVersions, groupList, handleResourceRequest, pathSegments, routeNotFound, sendJson, streamWatch,
} from './resource-api';
import { toWireError } from './status';
import { streamPodExec, streamPodLog, streamSyscall } from './syscall-stream';
import { StreamTracker } from './watch-stream';
import type { IdlePoller } from './idle-poller';

/**
 * Kern's HTTP API. Public: `GET /healthz` (also `/readyz`, `/livez`), `GET /version`. Behind a bearer
 * token: `GET /metrics`; the Kubernetes-shaped resource API under `/api` and
 * `/apis` (with the pod subresources status, log, exec and binding); Kern's
 * own `/v1/syscalls`, `/v1/plugins` (list, `POST /v1/plugins/load`, `DELETE
 * /v1/plugins/{id}`), `/v1/kinds` and `/v1/images/import`.
 * Every failure is a `kind: Status` JSON object.
 */

export interface HttpAppOptions {
  /** Where the app registers its watch streams; the server wrapper ends them on close. */
  streams?: StreamTracker;
  /** Told when each request starts and is answered, to poll through short gaps (see IdlePoller). */
  poller?: IdlePoller;
}

interface KernState {
  caller: Caller;
}

type KernContext = Koa.ParameterizedContext<KernState>;

export function createHttpApp(api: ApiContext, options: HttpAppOptions = {}): Koa<KernState> {
  const tracker = options.streams ?? new StreamTracker();
  const app = new Koa<KernState>();
  app.silent = true;
  app.on('error', (err: Error) => api.logger.debug({ err }, 'http connection error'));

  const poller = options.poller;
  app.use(async (c, next) => {
    poller?.started();
    try {
      await next();
    } catch (e) {
      const wire = toWireError(e, api.logger);
      if (c.headerSent || !c.writable) {
        api.logger.warn({ err: e, path: c.path }, 'error after the reply started');
      } else {
        if (wire.http === 401) c.set('WWW-Authenticate', 'Bearer realm="kern"');
        sendJson(c, wire.http, wire.status);
      }
    } finally {
      poller?.ended();
      api.metrics.httpRequests.child({ method: c.req.method ?? 'GET', code: String(c.res.statusCode) }).inc();
    }
  });

  // The public paths, matched here rather than by a router, which every
  // request (the resource API included) would pass through first. Matched as
  // the router did: any case, one trailing slash allowed.
  app.use((c, next) => {
    const method = c.req.method;
    if (method !== 'GET' && method !== 'HEAD') return next();
    const path = publicPath(c.path);
    // As kube-apiserver: /livez says the process answers, /readyz (and the
    // older /healthz) that it serves.
    if (path === '/healthz' || path === '/readyz' || path === '/livez') {
      const ok = path === '/livez' || api.ready();
      c.status = ok ? 200 : 503;
      c.type = 'text/plain';
      c.body = ok ? 'ok' : 'not ready';
      return undefined;
    }
    if (path === '/version') {
      c.body = versionInfo(api);
      return undefined;
    }
    return next();
  });

  // Not async: returning next()'s promise saves an await per request.
  app.use((c, next) => {
    const principal = api.auth.authenticate(c.req.headers.authorization || undefined);
    c.state.caller = { principal: principal.name, ...(principal.allowed ? { allowed: principal.allowed } : {}) };
    return next();
  });

  const scope = (c: KernContext): RequestScope => ({ api, caller: c.state.caller, tracker });
  const execInPod = async (c: KernContext, namespace: string, name: string) => {
    const parsed = parseBody(await readBody(c.req, api.bodyLimitBytes), c.get('Content-Type'));
    await streamPodExec(c, scope(c), namespace, name, requireObject(parsed ?? {}, 'exec request'));
  };

  // Kubernetes-shaped resources, the hot path: dispatched by prefix, and the
  // rest split by hand (not by router params) so `namespaces/{name}` and
  // `namespaces/{ns}/{plural}` resolve by shape and percent escapes are
  // decoded per segment.
  app.use((c, next) => {
    const path = c.path;
    if (path.startsWith('/api/v1')) {
      if (path.length === 7 || path.charCodeAt(7) === 47) {
        const segments = pathSegments(path, 2);
        const podAction = segments.length === 5 && segments[0] === 'namespaces' && segments[2] === 'pods' ? segments[4] : undefined;
        if (podAction === 'log' && c.method === 'GET') return streamPodLog(c, scope(c), segments[1], segments[3]);
        if (podAction === 'exec' && c.method === 'POST') return execInPod(c, segments[1], segments[3]);
        if (podAction === 'binding' && c.method === 'POST') return bindPod(c, scope(c), segments[1], segments[3]);
        return handleResourceRequest(c, scope(c), 'v1', segments);
      }
    } else if (path.startsWith('/apis/')) {
      const segments = pathSegments(path, 1);
      if (segments.length >= 2) return handleResourceRequest(c, scope(c), `${segments[0]}/${segments[1]}`, segments.slice(2));
    }
    return next();
  });

  const router = new Router<KernState>();

  router.get('/metrics', async (c) => {
    c.type = api.metrics.registry.contentType;
    c.body = await api.metrics.registry.metrics();
  });

  router.get('/api', (c) => { c.body = coreVersions(); });
  router.get('/apis', (c) => { c.body = groupList(api); });

  // Kern's own API.
  router.get('/v1/syscalls', (c) => { c.body = { items: api.syscalls.names() }; });
  router.post('/v1/syscalls/:name', async (c) => {
    const raw = await readBody(c.req, api.bodyLimitBytes);
    const parsed = parseBody(raw, c.get('Content-Type'));
    const args = parsed === undefined ? {} : requireObject(parsed, 'syscall arguments');
    if (c.params.name !== 'state.watch' && api.syscalls.isStream(c.params.name)) {
      await streamSyscall(c, scope(c), c.params.name, args);
      return;
    }
    if (c.params.name === 'state.watch') {
      const t = c.query.timeoutSeconds;
      const timeoutSeconds = typeof t === 'string' && /^\d+$/.test(t) ? Number(t) : undefined;
      streamWatch(c, scope(c), args as WatchArgs, { timeoutSeconds });
      return;
    }
    const result = await api.syscalls.dispatch(c.params.name, args, c.state.caller);
    sendJson(c, 200, result === undefined ? {} : result);
  });
  // Streamed to the runtime, so not bound by bodyLimitBytes (see image-import.ts).
  router.post('/v1/images/import', (c) => importImage(c, api));
  router.get('/v1/plugins', (c) => { c.body = { items: api.plugins.list() }; });
  // Hot load and unload (kern plugin install|upgrade|remove). Loading runs the
  // package's code in the kernel, so tokens limited to some syscalls (node
  // agents) may not: only the admin token.
  const requireAdmin = (c: KernContext) => {
    if (c.state.caller.allowed) throw errors.forbidden(`${c.state.caller.principal} may not load or unload plugins; use the admin token (kern writes it to ~/.kern/config.json)`);
  };
  router.post('/v1/plugins/load', async (c) => {
    requireAdmin(c);
    const parsed = parseBody(await readBody(c.req, api.bodyLimitBytes), c.get('Content-Type'));
    const { dir } = requireObject(parsed, 'plugin load request');
    if (typeof dir !== 'string' || dir === '') throw errors.invalid('dir', 'the plugin package directory is required, e.g. {"dir": "/var/lib/kern/plugins-installed/web"}');
    if (!isAbsolute(dir)) throw errors.invalid('dir', `"${dir}" must be an absolute path: the kernel does not share the client's working directory`);
    sendJson(c, 201, await api.plugins.load(dir));
  });
  router.delete('/v1/plugins/:id', async (c) => {
    requireAdmin(c);
    await api.plugins.unload(c.params.id);
    sendJson(c, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: c.params.id, kind: 'plugins' } });
  });
  router.get('/v1/kinds', (c) => { c.body = { items: api.kinds.list() }; });

  app.use(router.routes());
  app.use((c) => { throw routeNotFound(c.path); });
  return app;
}

/**
 * A public path (`/healthz`, `/readyz`, `/livez`, `/version`) for any
 * spelling of it (case, one trailing slash); other paths as they are. None
 * is longer than 8 characters, which the length test relies on.
 */
function publicPath(path: string): string {
  if (path.length > 9) return path; // longer than '/healthz/': not a public path
  const p = path.toLowerCase();
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

/** `/version` in Kubernetes' version-info shape, plus Kern's ABI. */
export function versionInfo(api: ApiContext): Record<string, string> {
  const m = /^(\d+)\.(\d+)/.exec(api.version.kern);
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  return {
    major: m ? m[1] : '0',
    minor: m ? m[2] : '0',
    gitVersion: `v${api.version.kern}`,
    gitCommit: process.env.KERN_GIT_COMMIT ?? '',
    gitTreeState: process.env.KERN_GIT_COMMIT ? 'clean' : '',
    buildDate: process.env.KERN_BUILD_DATE ?? '',
    goVersion: `node${process.versions.node}`,
    compiler: 'tsc',
    platform: `${process.platform}/${arch}`,
    kernAbi: api.version.abi || KERNEL_ABI_VERSION,
  };
}

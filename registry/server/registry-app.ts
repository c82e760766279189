import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import Koa from 'koa';
import Router from '@koa/router';
import { KernelError, Logger } from '@kern/sdk';
import { CHART_FILE_PATTERN, buildChartIndex, chartIndexYaml } from './chart-index';
import { PackageBlobs } from './package-blobs';
import { PluginCatalog, StoredPlugin, StoredVersion } from './plugin-catalog';
import { indexItems, pluginDetail, versionEntry } from './plugin-views';
import { PackagePublisher, signatureFromHeaders } from './publish-package';
import { Publisher, PublisherAccounts } from './publisher-accounts';
import { SIGNATURE_HEADER, SIGNATURE_KEY_ID_HEADER } from '../registry-api';
import { REGISTRY_ERROR_CODES, methodNotAllowed, notFound, toRegistryStatus, unsupportedMediaType } from './registry-status';
import { optionalText, readJsonObject } from './request-body';

export interface RegistryServices {
  accounts: PublisherAccounts;
  catalog: PluginCatalog;
  blobs: PackageBlobs;
  publisher: PackagePublisher;
  /** Where Helm chart archives (`*.tgz`) are served from. */
  chartsDir: string;
  logger: Logger;
}

/** Content types a package upload may carry (or none at all). */
const PACKAGE_CONTENT_TYPES = ['application/octet-stream', 'application/gzip', 'application/x-gzip'];

/**
 * The registry's HTTP API (the contract is in registry/README.md). Reads
 * are public; publish, yank, unyank and deprecate need a publisher token and
 * act only on the publisher's own plugins. Every failure is a `Status`.
 */
export function createRegistryApp(s: RegistryServices): Koa {
  const app = new Koa();
  app.silent = true;
  app.on('error', (err: Error) => s.logger.debug({ err }, 'registry connection error'));

  app.use(async (c, next) => {
    try {
      await next();
      if (c.status === 405) throw methodNotAllowed(c.method, c.path, c.response.get('Allow') || 'another method');
      if (c.status === 404 && c.body == null) {
        throw notFound(`no route ${c.method} ${c.path}: the registry API is under /v1 (index, plugins, keys) and /charts`);
      }
    } catch (e) {
      const wire = toRegistryStatus(e, s.logger);
      if (c.headerSent || !c.writable) {
        s.logger.warn({ err: e, path: c.path }, 'error after the reply started');
        return;
      }
      c.status = wire.http;
      c.type = 'application/json';
      c.body = wire.status;
      if (wire.http === 401) c.set('WWW-Authenticate', 'Bearer realm="kern-registry"');
    }
  });

  const router = new Router();
  const authenticate = (c: Koa.Context): Publisher => s.accounts.authenticate(c.get('Authorization') || undefined);

  const pluginOr404 = (id: string): StoredPlugin => {
    const plugin = s.catalog.plugin(id);
    if (!plugin) throw notFound(`plugin ${id} is not in this registry: search for it with GET /v1/index?q=TEXT`);
    return plugin;
  };
  const versionOr404 = (id: string, version: string): StoredVersion => {
    pluginOr404(id);
    const v = s.catalog.version(id, version);
    if (!v) throw notFound(`plugin ${id} has no version ${version}: GET /v1/plugins/${id} lists its versions`);
    return v;
  };
  /** A plugin the caller owns: 404 when unknown, 403 when someone else's. */
  const ownedPlugin = (publisher: Publisher, id: string): StoredPlugin => {
    const plugin = pluginOr404(id);
    if (plugin.publisher !== publisher.name) {
      throw new KernelError('Forbidden', `plugin ${id} belongs to publisher ${plugin.publisher}, not ${publisher.name}: only its owner may change it`, {
        field: 'id', code: REGISTRY_ERROR_CODES.notOwner,
      });
    }
    return plugin;
  };

  router.get('/healthz', (c) => {
    c.type = 'text/plain';
    c.body = 'ok';
  });

  router.get('/v1/index', (c) => {
    const versions = s.catalog.versionsByPlugin();
    const keyIds = new Map(s.accounts.keys().map((k) => [k.publisher, k.keyId]));
    c.body = {
      items: indexItems(s.catalog.plugins(), (id) => versions.get(id) ?? [], (p) => keyIds.get(p) ?? '', {
        q: firstQuery(c.query.q),
        kind: firstQuery(c.query.kind),
      }),
    };
  });

  router.get('/v1/keys', (c) => {
    c.body = { items: s.accounts.keys() };
  });

  router.get('/v1/plugins/:id', (c) => {
    const plugin = pluginOr404(c.params.id);
    c.body = pluginDetail(plugin, s.catalog.versions(plugin.id));
  });

  router.get('/v1/plugins/:id/:version/package', async (c) => {
    const { id, version } = c.params;
    versionOr404(id, version);
    const blob = await s.blobs.open(id, version);
    if (!blob) {
      s.logger.error({ plugin: id, version, file: s.blobs.pathOf(id, version) }, 'package file missing for a published version');
      throw new KernelError('Internal', `the package file of ${id}@${version} is missing on the registry: tell the registry operator`);
    }
    // HEAD asks about the package without downloading it.
    if (c.method === 'GET') s.catalog.countDownload(id, version);
    c.type = 'application/octet-stream';
    c.length = blob.size;
    c.set('Content-Disposition', `attachment; filename="${id}-${version}.kpkg"`);
    c.body = blob.stream;
  });

  router.put('/v1/plugins/:id/:version', async (c) => {
    const publisher = authenticate(c);
    const contentType = (c.get('Content-Type') || '').split(';')[0].trim().toLowerCase();
    if (contentType && !PACKAGE_CONTENT_TYPES.includes(contentType)) throw unsupportedMediaType(contentType);
    const stored = await s.publisher.publish({
      publisher,
      id: c.params.id,
      version: c.params.version,
      signature: signatureFromHeaders(c.get(SIGNATURE_KEY_ID_HEADER) || undefined, c.get(SIGNATURE_HEADER) || undefined),
      body: c.req,
    });
    c.status = 201;
    c.set('Location', `/v1/plugins/${stored.pluginId}`);
    c.body = versionEntry(stored);
  });

  const yankRoute = (yanked: boolean) => async (c: Koa.Context & { params: Record<string, string> }) => {
    const publisher = authenticate(c);
    const body = await readJsonObject(c.req);
    const reason = yanked ? optionalText(body, 'reason') : undefined;
    const { id, version } = c.params;
    ownedPlugin(publisher, id);
    versionOr404(id, version);
    s.catalog.setYanked(id, version, yanked, reason);
    s.logger.info({ plugin: id, version, publisher: publisher.name, reason }, yanked ? 'plugin version yanked' : 'plugin version unyanked');
    c.body = versionEntry(s.catalog.version(id, version) as StoredVersion);
  };
  router.post('/v1/plugins/:id/:version/yank', yankRoute(true));
  router.post('/v1/plugins/:id/:version/unyank', yankRoute(false));

  router.post('/v1/plugins/:id/deprecate', async (c) => {
    const publisher = authenticate(c);
    const body = await readJsonObject(c.req);
    const message = optionalText(body, 'message');
    if (message === undefined) {
      throw new KernelError('Invalid', 'message is required: say what to use instead, e.g. {"message": "use runtime-docker"}; an empty message clears the deprecation', {
        field: 'message', code: REGISTRY_ERROR_CODES.badRequest,
      });
    }
    const plugin = ownedPlugin(publisher, c.params.id);
    s.catalog.setDeprecated(plugin.id, message.trim());
    s.logger.info({ plugin: plugin.id, publisher: publisher.name, message }, message.trim() ? 'plugin deprecated' : 'plugin deprecation cleared');
    c.body = pluginDetail(s.catalog.plugin(plugin.id) as StoredPlugin, s.catalog.versions(plugin.id));
  });

  router.get('/charts/index.yaml', async (c) => {
    c.type = 'application/yaml; charset=utf-8';
    c.body = chartIndexYaml(await buildChartIndex(s.chartsDir, s.logger));
  });

  router.get('/charts/:file', async (c) => {
    const file = c.params.file;
    const path = join(s.chartsDir, file);
    const st = CHART_FILE_PATTERN.test(file) ? await stat(path).catch(() => undefined) : undefined;
    if (!st?.isFile()) throw notFound(`chart ${file} is not in this repository: /charts/index.yaml lists the charts`);
    c.type = 'application/gzip';
    c.length = st.size;
    c.body = createReadStream(path);
  });

  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

/** A query parameter given once or more: the first value. */
function firstQuery(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

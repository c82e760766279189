import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { Logger, silentLogger } from '@kern/sdk';
import { PackageBlobs } from './package-blobs';
import { PluginCatalog } from './plugin-catalog';
import { PackagePublisher } from './publish-package';
import { PublisherAccounts } from './publisher-accounts';
import { DEFAULT_REGISTRY_HOST, DEFAULT_REGISTRY_PORT, MAX_PACKAGE_BYTES } from '../registry-api';
import { createRegistryApp } from './registry-app';
import { openRegistryDatabase } from './registry-database';

export interface RegistryServerOptions {
  /** Holds registry.db, packages/, charts/ and tmp/. */
  dataDir: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 7080; 0 picks a free port (see `url`). */
  port?: number;
  logger?: Logger;
  /** Largest package accepted, in bytes; default 100 MiB. */
  maxPackageBytes?: number;
}

export interface RunningRegistry {
  /** `http://HOST:PORT`, with the port actually bound. */
  url: string;
  port: number;
  /** Stops listening, ends open connections (after a short grace) and closes the database. */
  close(): Promise<void>;
}

/** How long in-flight requests get to finish once close() has been called. */
const CLOSE_GRACE_MS = 1000;

/** Starts the plugin registry over the data in `dataDir` (created when missing). */
export async function startRegistryServer(options: RegistryServerOptions): Promise<RunningRegistry> {
  const dataDir = resolve(options.dataDir);
  const logger = options.logger ?? silentLogger;
  const db = openRegistryDatabase(dataDir);
  try {
    const blobs = new PackageBlobs(dataDir);
    await blobs.init();
    const catalog = new PluginCatalog(db);
    const app = createRegistryApp({
      accounts: new PublisherAccounts(db),
      catalog,
      blobs,
      publisher: new PackagePublisher(catalog, blobs, options.maxPackageBytes ?? MAX_PACKAGE_BYTES, logger),
      chartsDir: join(dataDir, 'charts'),
      logger,
    });
    const server = createServer(app.callback());
    const host = options.host ?? DEFAULT_REGISTRY_HOST;
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(options.port ?? DEFAULT_REGISTRY_PORT, host, () => {
        server.off('error', fail);
        done();
      });
    });
    server.on('error', (err) => logger.error({ err }, 'registry server error'));
    const port = (server.address() as AddressInfo).port;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    logger.info({ url, dataDir }, 'registry listening');

    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= new Promise<void>((done) => {
        const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        server.close(() => {
          clearTimeout(force);
          db.close();
          done();
        });
        server.closeIdleConnections();
      });
      return closing;
    };
    return { url, port, close };
  } catch (e) {
    db.close();
    throw e;
  }
}

import { PluginContext, definePlugin, toDisposable } from '@kern/sdk';
import { readStoreConfig } from './config';
import { SqliteStore } from './sqlite-store';

export { SqliteStore, SQLITE_STORE_DEFAULTS } from './sqlite-store';
export type { SqliteStoreOptions } from './sqlite-store';
export type { StoreSqliteConfig } from './config';

/** The store each activation opened, so `deactivate` can close it. */
const openStores = new WeakMap<PluginContext, SqliteStore>();

/**
 * store-sqlite: registers the `sqlite` store driver over one SQLite file,
 * `<dataDir>/state.db` unless `path` is configured.
 */
export default definePlugin({
  activate(ctx) {
    const options = readStoreConfig(ctx.config, ctx.dataDir);
    const store = new SqliteStore(options);
    openStores.set(ctx, store);
    // Subscriptions are disposed in reverse: the driver is unregistered
    // first, then the file is closed.
    ctx.subscriptions.push(toDisposable(() => store.close()));
    ctx.subscriptions.push(ctx.drivers.register('store', 'sqlite', store));
    ctx.logger.info({ path: store.path }, 'sqlite store opened');
  },
  async deactivate(ctx) {
    const store = openStores.get(ctx);
    openStores.delete(ctx);
    await store?.close();
  },
});

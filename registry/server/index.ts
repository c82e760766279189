/** The plugin registry server (`kern registry serve`) and the local publisher accounts. */
export { startRegistryServer } from './registry-server';
export type { RegistryServerOptions, RunningRegistry } from './registry-server';
export { PublisherAccounts, withPublisherAccounts } from './publisher-accounts';
export type { Publisher, PublisherSummary } from './publisher-accounts';
export * from '../registry-api';

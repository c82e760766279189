/** Test kit for driver authors: conformance suites and harnesses. */
export * from './store-conformance';
export * from './fake-syscalls';
export * from './runtime-conformance';
export * from './objectstore-conformance';
export * from './volume-conformance';
export * from './network-conformance';

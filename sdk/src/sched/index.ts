export * from './framework';
export * from './reasons';
export * from './pod-requests';
export * from './tolerations';

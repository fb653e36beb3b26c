/**
 * The attention engine: exact, step-by-step attention math on typed arrays. Pure TypeScript; never imports `vscode`.
 */
export * from './argmax';
export * from './tensor';
export * from './linalg';
export * from './masks';
export * from './softmax';
export * from './attention';
export * from './layers';
export * from './rollout';
export * from './flow';
export * from './statistics';
export * from './words';
export * from './importance';
export * from './align';
export * from './random';
export * from './trace';
export { exactLog } from './exactLog';

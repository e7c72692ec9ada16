/**
 * Post-training layer quantizers. Each method is a namespace with one
 * `quantizeLayer(W [out, in], stats, cfg): QuantResult`; docs/quant.md lists
 * the configs and their defaults.
 */
export * as rtn from './methods/rtn.js';
export * as gptq from './methods/gptq.js';
export * as spqr from './methods/spqr.js';
export { NotPositiveDefiniteError } from './linalg.js';
export * from './types.js';

/**
 * Neural-network building blocks over the tensor engine: Module, layers,
 * initialisers and the model summary.
 */
export * from './module.js';
export * from './layers.js';
/** Weight initialisers with torch.nn.init's formulas, filling tensors in place (kaimingUniform_, xavierNormal_, ...). */
export * as init from './init.js';
export * from './summary.js';

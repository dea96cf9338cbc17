// Commands and deciders: pure decide/evolve per aggregate, the error hierarchy, and the stream registry.
export * from '../errors.js';
export * from './command.js';
export * from './constants.js';
export { foldEvents, decideOn, isAfter, type Decider } from './decider.js';
export * from './registry.js';
export * as outgoing from './outgoing/index.js';
export * as incoming from './incoming/index.js';
export * as pods from './pods/index.js';
export { outgoingDecider, type OutgoingCommand, type OutgoingState } from './outgoing/decider.js';
export { incomingDecider, type IncomingCommand, type IncomingState } from './incoming/decider.js';
export { podsDecider, type PodsCommand, type PodsState } from './pods/decider.js';

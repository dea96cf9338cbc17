// The provider-side aggregate, one per consumer cluster: stream incoming-<remoteId>.
export * from './commands.js';
export * from './state.js';
export { decide, evolve, isTerminal, incomingDecider } from './decider.js';

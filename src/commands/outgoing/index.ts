// The consumer-side aggregate, one per remote cluster: stream outgoing-<remoteId>.
export * from './commands.js';
export * from './state.js';
export { decide, evolve, isTerminal, outgoingDecider } from './decider.js';

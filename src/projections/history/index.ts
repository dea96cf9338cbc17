// The history of a peering folded from its events: timeline and phases, status as of an instant, HTML page.
export * from './timeline.js';
export * from './status.js';
export * from './html.js';
export * from './as-of.js';

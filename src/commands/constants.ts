// Domain constants of the command side: stream naming and the defaults deciders fall back on.

/** Stream id = prefix + remote cluster id; the prefix picks the aggregate (see registry.ts). */
export const STREAM_PREFIXES = {
  outgoing: 'outgoing-',
  incoming: 'incoming-',
  pods: 'pods-',
} as const;

/** An offer is re-issued only when a resource moves by more than this share (DESIGN §7). */
export const DEFAULT_OFFER_UPDATE_THRESHOLD_PERCENT = 5;

/** Share of the free capacity a provider offers unless configured otherwise (DESIGN §7). */
export const DEFAULT_SHARING_PERCENT = 50;

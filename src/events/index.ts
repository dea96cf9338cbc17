// Event types, envelope, schemas and hash chain: the log's public contract, pure and free of I/O.
export * from './catalogue.js';
export * from './constants.js';
export * from './envelope.js';
export * from './errors.js';
export * from './hash.js';
export * from './quantity.js';
export * from './cloudevents.js';
export * from './checkpoint.js';
export {
  EVENT_SCHEMAS,
  EVENT_TYPES,
  currentSchemaVersion,
  isKnownEventType,
  parseEvent,
  parseEventJson,
  serializeEvent,
  validateEventData,
  type ParseOptions,
} from './schemas.js';
export { fieldNames, type Schema } from './schema.js';

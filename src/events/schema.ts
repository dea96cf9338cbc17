// A small hand-rolled validator: schemas are values that parse `unknown` into a fresh, typed copy or
// throw a ValidationError naming the field. Objects are closed (unknown fields are refused), so what
// comes out is exactly what the schema declares and never a partial object.
import { ValidationError } from '../errors.js';
import { REQUIRED_RESOURCES, RESOURCE_NAME_PATTERN, LIMITS } from './constants.js';
import { parseQuantity } from './quantity.js';
import type { Resources } from './catalogue.js';

export type SchemaKind =
  | 'string'
  | 'number'
  | 'integer'
  | 'boolean'
  | 'enum'
  | 'literal'
  | 'object'
  | 'array'
  | 'quantities'
  | 'nullable'
  | 'optional'
  | 'rooted'
  | 'union';

export interface Schema<T> {
  readonly kind: SchemaKind;
  /** Field name (objects), `*` (array items), variant tag (unions) or '' (wrappers) → child schema. */
  readonly children: ReadonlyArray<readonly [string, Schema<unknown>]>;
  /** The path this schema names in errors wherever it stands (see `rooted`); else its parent's path for it. */
  readonly root?: string;
  parse(value: unknown, path: string): T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

interface OptionalSchema<T> extends Schema<T | undefined> {
  readonly kind: 'optional';
}

function fail(path: string, expectation: string, value: unknown): never {
  throw new ValidationError(`${path} ${expectation}, got ${describe(value)}`, { field: path });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

export interface StringRules {
  readonly min?: number;
  readonly max: number;
  readonly pattern?: RegExp;
  /** Words for the error message, e.g. 'a UUID'. */
  readonly format?: string;
  readonly check?: (value: string) => boolean;
}

export function string(rules: StringRules): Schema<string> {
  const min = rules.min ?? 1;
  const expectation = `must be ${rules.format ?? 'a string'} of ${min}..${rules.max} characters`;
  return {
    kind: 'string',
    children: [],
    parse(value, path) {
      if (typeof value !== 'string' || value.length < min || value.length > rules.max) fail(path, expectation, value);
      if (rules.pattern !== undefined && !rules.pattern.test(value)) fail(path, expectation, value);
      if (rules.check !== undefined && !rules.check(value)) fail(path, expectation, value);
      return value;
    },
  };
}

export function integer(rules: { readonly min?: number; readonly max?: number } = {}): Schema<number> {
  const min = rules.min ?? Number.MIN_SAFE_INTEGER;
  const max = rules.max ?? Number.MAX_SAFE_INTEGER;
  return {
    kind: 'integer',
    children: [],
    parse(value, path) {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
        fail(path, `must be an integer in ${min}..${max}`, value);
      }
      return value;
    },
  };
}

export function number(rules: { readonly min?: number; readonly max?: number } = {}): Schema<number> {
  const min = rules.min ?? -Number.MAX_VALUE;
  const max = rules.max ?? Number.MAX_VALUE;
  return {
    kind: 'number',
    children: [],
    parse(value, path) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
        fail(path, `must be a finite number in ${min}..${max}`, value);
      }
      return value;
    },
  };
}

export function boolean(): Schema<boolean> {
  return {
    kind: 'boolean',
    children: [],
    parse(value, path) {
      if (typeof value !== 'boolean') fail(path, 'must be a boolean', value);
      return value;
    },
  };
}

export function enumOf<const V extends readonly string[]>(values: V): Schema<V[number]> {
  const allowed = new Set<string>(values);
  return {
    kind: 'enum',
    children: [],
    parse(value, path) {
      if (typeof value !== 'string' || !allowed.has(value)) fail(path, `must be one of ${values.join(', ')}`, value);
      return value as V[number];
    },
  };
}

export function literal<const V extends string>(expected: V): Schema<V> {
  return {
    kind: 'literal',
    children: [],
    parse(value, path) {
      if (value !== expected) fail(path, `must be ${JSON.stringify(expected)}`, value);
      return expected;
    },
  };
}

export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return {
    kind: 'nullable',
    children: [['', inner]],
    parse(value, path) {
      return value === null ? null : inner.parse(value, path);
    },
  };
}

export function optional<T>(inner: Schema<T>): OptionalSchema<T> {
  return {
    kind: 'optional',
    children: [['', inner]],
    parse(value, path) {
      return value === undefined ? undefined : inner.parse(value, path);
    },
  };
}

export function array<T>(items: Schema<T>, rules: { readonly max: number }): Schema<readonly T[]> {
  const paths = childPaths((parent, index) => `${parent}[${index}]`);
  return {
    kind: 'array',
    children: [['*', items]],
    parse(value, path) {
      if (!Array.isArray(value) || value.length > rules.max) fail(path, `must be an array of at most ${rules.max} items`, value);
      const itemPaths = paths(path, value.length);
      return value.map((item, index) => items.parse(item, itemPaths[index]!));
    },
  };
}

/**
 * The paths of a schema's children under its latest parent path. Paths are only read when a value
 * is refused, but they are passed down on every parse: building them once per parent path, rather
 * than once per value, keeps a stream of events from producing a string per field.
 */
function childPaths(name: (parent: string, index: number) => string): (path: string, count: number) => readonly string[] {
  let parent: string | undefined;
  let paths: string[] = [];
  return (path, count) => {
    if (path !== parent) {
      parent = path;
      paths = [];
    }
    for (let i = paths.length; i < count; i++) paths.push(name(path, i));
    return paths;
  };
}

/** `inner`, reporting its errors under `root` wherever it is placed (an envelope's `data`). */
export function rooted<T>(inner: Schema<T>, root: string): Schema<T> {
  return {
    kind: 'rooted',
    children: [['', inner]],
    root,
    parse(value) {
      return inner.parse(value, root);
    },
  };
}

type Shape = Readonly<Record<string, Schema<unknown>>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends OptionalSchema<unknown> ? K : never }[keyof S];
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type ObjectOf<S extends Shape> = Simplify<
  { readonly [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & {
    readonly [K in OptionalKeys<S>]?: Exclude<Infer<S[K]>, undefined>;
  }
>;

export function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function object<S extends Shape>(shape: S): Schema<ObjectOf<S>> {
  const keys = Object.keys(shape);
  const fields = keys.map((key) => shape[key] as Schema<unknown>);
  const known = new Set(keys);
  // The copy gets its keys in canonical (sorted) order, so hashing a parsed event is one JSON.stringify.
  const sortedKeys = [...keys].sort();
  const sortedFields = sortedKeys.map((key) => shape[key] as Schema<unknown>);
  const paths = childPaths((parent, index) => fields[index]!.root ?? `${parent}.${keys[index]!}`);
  const sortedPaths = childPaths((parent, index) => sortedFields[index]!.root ?? `${parent}.${sortedKeys[index]!}`);

  /**
   * Checks in the order declared, so that the error named is the first in that order, and returns
   * the copy in sorted order: for values the compiled pass refuses, and shapes it is not made for.
   */
  function inDeclaredOrder(value: Readonly<Record<string, unknown>>, path: string): ObjectOf<S> {
    for (const key of Object.keys(value)) {
      if (!known.has(key)) {
        throw new ValidationError(`${path}.${key} is not a known field (expected only ${keys.join(', ')})`, {
          field: `${path}.${key}`,
        });
      }
    }
    const fieldPaths = paths(path, keys.length);
    const parsed = new Map<string, unknown>();
    for (let i = 0; i < keys.length; i++) {
      const field = fields[i]!;
      const item = Object.prototype.hasOwnProperty.call(value, keys[i]!) ? value[keys[i]!] : undefined;
      if (item === undefined && field.kind !== 'optional') {
        throw new ValidationError(`${fieldPaths[i]!} is required`, { field: fieldPaths[i]! });
      }
      parsed.set(keys[i]!, field.parse(item, fieldPaths[i]!));
    }
    const out: Record<string, unknown> = {};
    for (const key of sortedKeys) if (parsed.get(key) !== undefined) out[key] = parsed.get(key);
    return out as ObjectOf<S>;
  }

  const compiled = compileCheck(sortedKeys, sortedFields);

  return {
    kind: 'object',
    children: keys.map((key, index) => [key, fields[index]!] as const),
    parse(value, path) {
      if (!isPlainObject(value)) fail(path, 'must be an object', value);
      // The common case, a valid value, is checked and copied in one pass in sorted order; anything
      // else, and any shape the pass cannot be compiled for, is checked in declared order, which
      // names the error.
      if (compiled === undefined) return inDeclaredOrder(value, path);
      let copy: ObjectOf<S> | undefined;
      try {
        copy = compiled(value, sortedPaths(path, sortedKeys.length)) as ObjectOf<S> | undefined;
      } catch {
        return inDeclaredOrder(value, path);
      }
      return copy ?? inDeclaredOrder(value, path);
    },
  };
}

/** Names that can stand as they are in a property access and an object literal, in sorted order. */
const PLAIN_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * The one-pass check of an object with no optional field, as a function of its own: each field is
 * read by its literal name and the copy is one object literal, so V8 sees a fixed shape where a
 * loop over names sees a different key at every step (an envelope's check measured 3.5 µs with
 * the loop, 2.8 µs compiled). It returns undefined, and the caller checks the declared way, when
 * the enumerable own keys are not exactly the declared ones (an unknown, a hidden or an inherited
 * one; checked before any value is read) or a field holds undefined; it throws what a field's
 * parse throws.
 * Undefined (no compiled check) for shapes with an optional field (none of the event schemas has
 * one) and shapes whose names could change meaning in code: `__proto__`, integer-like names (an
 * object literal would reorder them) and anything but a plain identifier.
 */
function compileCheck(
  sortedKeys: readonly string[], sortedFields: readonly Schema<unknown>[],
): ((value: Readonly<Record<string, unknown>>, paths: readonly string[]) => unknown) | undefined {
  if (sortedKeys.some((k) => !PLAIN_NAME.test(k) || k === '__proto__')) return undefined;
  if (sortedFields.some((f) => f.kind === 'optional')) return undefined;
  const name = (i: number): string => JSON.stringify(sortedKeys[i]!);
  const lines: string[] = [];
  for (let i = 0; i < sortedKeys.length; i++) lines.push(`const v${i} = value[${name(i)}]; if (v${i} === undefined) return undefined;`);
  const cases = sortedKeys.map((_, i) => `case ${name(i)}:`).join(' ');
  const known = sortedKeys.length === 0 ? 'return undefined;' : `switch (key) { ${cases} own += 1; break; default: return undefined; }`;
  const copy = sortedKeys.map((_, i) => `${name(i)}: f[${i}].parse(v${i}, paths[${i}])`).join(', ');
  const body = `'use strict';
    const hasOwn = Object.prototype.hasOwnProperty;
    return function check(value, paths) {
      let own = 0;
      for (const key in value) {
        if (!hasOwn.call(value, key)) return undefined;
        ${known}
      }
      if (own !== ${sortedKeys.length}) return undefined;
      ${lines.join('\n      ')}
      return { ${copy} };
    };`;
  try {
    return new Function('f', body)(sortedFields) as (value: Readonly<Record<string, unknown>>, paths: readonly string[]) => unknown;
  } catch {
    // Code generation refused (--disallow-code-generation-from-strings): the loop does the same.
    return undefined;
  }
}

/**
 * A union told apart by a string field (`tag`) present in every variant; the variant's own schema
 * then checks it, so each side of the union stays closed.
 */
export function taggedUnion<T>(tag: string, variants: Readonly<Record<string, Schema<T>>>): Schema<T> {
  const names = Object.keys(variants);
  return {
    kind: 'union',
    children: names.map((name) => [name, variants[name] as Schema<unknown>] as const),
    parse(value, path) {
      if (!isPlainObject(value)) fail(path, 'must be an object', value);
      const which = value[tag];
      const variant = typeof which === 'string' && Object.prototype.hasOwnProperty.call(variants, which) ? variants[which] : undefined;
      if (variant === undefined) fail(`${path}.${tag}`, `must be one of ${names.join(', ')}`, which);
      return variant.parse(value, path);
    },
  };
}

/**
 * Quantities already found well-formed and not negative. Offers repeat a handful of values ("4",
 * "8Gi", "110") across a whole log, and exact parsing goes through BigInt. Bounded: it is emptied
 * when full.
 */
const goodQuantities = new Set<string>();
const GOOD_QUANTITIES_MAX = 4096;

function checkQuantity(quantity: unknown, field: string): string {
  if (typeof quantity === 'string' && goodQuantities.has(quantity)) return quantity;
  if (typeof quantity !== 'string' || quantity.length > LIMITS.quantity) {
    fail(field, 'must be a Kubernetes quantity string', quantity);
  }
  let negative: boolean;
  try {
    negative = parseQuantity(quantity).numerator < 0n;
  } catch (cause) {
    throw new ValidationError(`${field} must be a Kubernetes quantity, got ${describe(quantity)}`, { field, cause });
  }
  if (negative) fail(field, 'must not be negative', quantity);
  if (goodQuantities.size >= GOOD_QUANTITIES_MAX) goodQuantities.clear();
  goodQuantities.add(quantity);
  return quantity;
}

function ascending(names: readonly string[]): boolean {
  for (let i = 1; i < names.length; i++) if (!(names[i - 1]! < names[i]!)) return false;
  return true;
}

/** Kubernetes resource quantities by resource name; cpu, memory and pods required, none negative. */
export function quantities(): Schema<Resources> {
  return {
    kind: 'quantities',
    children: [],
    parse(value, path) {
      if (!isPlainObject(value)) fail(path, 'must be an object of resource quantities', value);
      const names = Object.keys(value);
      if (names.length > LIMITS.resourceKinds) fail(path, `must hold at most ${LIMITS.resourceKinds} resources`, value);
      for (const required of REQUIRED_RESOURCES) {
        if (!Object.prototype.hasOwnProperty.call(value, required)) {
          throw new ValidationError(`${path}.${required} is required`, { field: `${path}.${required}` });
        }
      }
      // Canonical key order; names read from canonical JSON already stand sorted.
      if (!ascending(names)) names.sort();
      const out: Record<string, string> = {};
      for (const name of names) {
        if (!RESOURCE_NAME_PATTERN.test(name) || name.length > LIMITS.name) {
          throw new ValidationError(`${path}.${name} is not a valid resource name`, { field: `${path}.${name}` });
        }
        out[name] = checkQuantity(value[name], `${path}.${name}`);
      }
      return out as Resources;
    },
  };
}

/** Every field name a schema declares, at any depth: lets tests prove no secret-looking field exists. */
export function fieldNames(schema: Schema<unknown>): readonly string[] {
  const names: string[] = [];
  const visit = (node: Schema<unknown>): void => {
    for (const [name, child] of node.children) {
      if (node.kind === 'object') names.push(name);
      visit(child);
    }
  };
  visit(schema);
  return names;
}

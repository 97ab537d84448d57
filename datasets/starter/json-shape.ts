/**
 * A JSON Schema inferred from example values (the references of a JSON task), built up one value
 * at a time so that a large file never sits in memory. The schema is deliberately lenient: it
 * states the types and the keys every example has (`required`), and allows extra keys and values
 * it never saw; a starter schema should fail outputs that are wrong, not outputs that are new.
 */

export type JsonType = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';

export interface Shape {
  /** Values seen at this place. */
  count: number;
  types: Set<JsonType>;
  /** Objects seen here, and each key with its own shape and how many of them had it. */
  objects: number;
  properties: Map<string, Shape>;
  /** More keys than MAX_PROPERTIES: the rest are not tracked (and none is required). */
  openKeys: boolean;
  /** Elements of every array seen here. */
  items?: Shape;
}

/** Keys tracked per object place: a map keyed by ids must not grow a schema without bound. */
export const MAX_PROPERTIES = 200;
/** Places deeper than this are left unconstrained (`{}`). */
export const MAX_DEPTH = 16;

export function emptyShape(): Shape {
  return { count: 0, types: new Set(), objects: 0, properties: new Map(), openKeys: false };
}

function typeOf(v: unknown): JsonType | undefined {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isInteger(v) ? 'integer' : 'number';
    case 'string':
      return 'string';
    case 'object':
      return Array.isArray(v) ? 'array' : 'object';
    default:
      return undefined; // undefined, functions: not JSON
  }
}

/** Adds one example value to `shape`. */
export function addValue(shape: Shape, value: unknown, depth = 0): void {
  const t = typeOf(value);
  if (t === undefined) return;
  shape.count++;
  shape.types.add(t);
  if (depth >= MAX_DEPTH) return;
  if (t === 'object') {
    shape.objects++;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      let child = shape.properties.get(k);
      if (!child) {
        if (shape.properties.size >= MAX_PROPERTIES) {
          shape.openKeys = true;
          continue;
        }
        child = emptyShape();
        shape.properties.set(k, child);
      }
      addValue(child, v, depth + 1);
    }
  } else if (t === 'array') {
    shape.items ??= emptyShape();
    for (const v of value as unknown[]) addValue(shape.items, v, depth + 1);
  }
}

/**
 * The schema of what was seen: `type` (one, or a list; integer folds into number when both
 * occur), object `properties` with `required` = the keys every object had, array `items`.
 */
export function shapeSchema(shape: Shape, depth = 0): Record<string, unknown> {
  if (shape.count === 0 || depth >= MAX_DEPTH) return {};
  const types = [...shape.types];
  const folded = shape.types.has('number') ? types.filter((t) => t !== 'integer') : types;
  const order: JsonType[] = ['object', 'array', 'string', 'number', 'integer', 'boolean', 'null'];
  folded.sort((a, b) => order.indexOf(a) - order.indexOf(b));
  const schema: Record<string, unknown> = { type: folded.length === 1 ? folded[0] : folded };
  if (shape.types.has('object') && shape.properties.size > 0) {
    const properties: Record<string, unknown> = {};
    const required: string[] = [];
    for (const [k, child] of shape.properties) {
      properties[k] = shapeSchema(child, depth + 1);
      if (!shape.openKeys && child.count === shape.objects) required.push(k);
    }
    schema.properties = properties;
    if (required.length > 0) schema.required = required;
  }
  if (shape.types.has('array') && shape.items && shape.items.count > 0) {
    schema.items = shapeSchema(shape.items, depth + 1);
  }
  return schema;
}

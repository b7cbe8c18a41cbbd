// Reads every Parquet file under a directory (a tcplens export) with two
// Parquet implementations that share no code with parquet-go nor DuckDB,
// and prints what each sees, one JSON object per file and reader a line:
//
//   {"reader": "parquet-wasm", "file": "connections/sensor=…/….parquet",
//    "schema": [{"name": "ts", ...}, ...], "columns": ["ts", ...],
//    "rows": [[v1, v2, ...], ...]}
//   {"reader": "hyparquet", "file": ..., "schema": [...], "rows": [...],
//    "row_groups": [...], "created_by": "..."}
//
// A row is an array of the values of the top-level columns named in
// "columns", which are the schema's (or those asked for), in order.
//
// parquet-wasm is Apache arrow-rs's Parquet reader compiled to WebAssembly;
// its Arrow record batches are read with apache-arrow (Arrow's JavaScript
// implementation). Its schema is the Arrow schema arrow-rs derives from the
// file's Parquet schema. hyparquet is an independent pure JavaScript reader;
// its schema is the file's Parquet schema as it parsed it (physical and
// logical types, repetition), and its row groups carry the footer's
// statistics and the page index, which query engines prune by.
//
// Values are printed exactly: 64-bit integers and timestamps (integer
// nanoseconds since the epoch) as JSON integers of any length, doubles as
// the shortest text that reads back to the same double (-0 as -0), nulls
// as null, lists as arrays, structs as objects. A value JSON cannot hold
// (NaN, an infinity, bytes, a Date) is printed as a string naming it, so
// that it differs from what tcplens meant.
//
// With --columns a,b,... each reader reads only those of a file's columns
// (as a query engine reads what a query names), in the file's order; the schema
// is then the file's whole schema still.
//
// Usage: node read.mjs [--columns a,b,...] DIR
import { readFileSync, readdirSync, writeSync } from 'node:fs'
import { join, relative } from 'node:path'

import * as arrow from 'apache-arrow'
import { parquetMetadata, parquetReadObjects, parquetSchema, readColumnIndex, readOffsetIndex } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import { readParquet, readSchema } from 'parquet-wasm'

// exact writes v as JSON with every number exact.
function exact(v) {
  if (v === null || v === undefined) return 'null'
  switch (typeof v) {
    case 'bigint':
      return v.toString()
    case 'number':
      if (Object.is(v, -0)) return '-0'
      return Number.isFinite(v) ? String(v) : JSON.stringify(`not a JSON number: ${v}`)
    case 'string':
    case 'boolean':
      return JSON.stringify(v)
  }
  if (Array.isArray(v)) return '[' + v.map(exact).join(',') + ']'
  if (v instanceof Date) return JSON.stringify(`a Date: ${v.toISOString()}`)
  if (ArrayBuffer.isView(v)) return JSON.stringify(`bytes: ${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`)
  return '{' + Object.entries(v).map(([k, x]) => JSON.stringify(k) + ':' + exact(x)).join(',') + '}'
}

function files(dir) {
  const out = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...files(p))
    else if (e.name.endsWith('.parquet')) out.push(p)
  }
  return out.sort()
}

// arrow-rs through parquet-wasm.

const T = arrow.Type

function arrowType(t) {
  switch (t.typeId) {
    case T.Int: return `${t.isSigned ? 'Int' : 'Uint'}${t.bitWidth}`
    case T.Float: return `Float${[16, 32, 64][t.precision]}`
    case T.Timestamp: return `Timestamp(${arrow.TimeUnit[t.unit]}, ${t.timezone ?? 'no time zone'})`
    case T.Dictionary: return `Dictionary(${arrowType(t.indices)}, ${arrowType(t.dictionary)})`
    default: return T[t.typeId] ?? String(t)
  }
}

function arrowField(f) {
  const d = { name: f.name, type: arrowType(f.type), nullable: f.nullable }
  if (f.type.children?.length) d.children = f.type.children.map(arrowField)
  return d
}

// values are the values of one Arrow array, each exact: a timestamp as
// its integer (apache-arrow's own getter divides nanoseconds into
// fractional milliseconds), a list and a struct walked down.
function values(data) {
  const out = new Array(data.length)
  const t = data.type
  const vec = arrow.makeVector(data)
  const offsets = data.valueOffsets
  const children = t.typeId === T.Struct ? data.children.map(values) : null
  for (let i = 0; i < data.length; i++) {
    if (!data.getValid(i)) {
      out[i] = null
      continue
    }
    switch (t.typeId) {
      case T.Timestamp:
        out[i] = data.values[i]
        break
      case T.List: {
        const from = Number(offsets[i]), to = Number(offsets[i + 1])
        out[i] = values(data.children[0].slice(from, to - from))
        break
      }
      case T.Struct:
        out[i] = Object.fromEntries(t.children.map((c, k) => [c.name, children[k][i]]))
        break
      default:
        out[i] = vec.get(i)
    }
  }
  return out
}

// present is the names of the columns to read: those of only the file has,
// in its order.
const present = (names, only) => only ? names.filter(n => only.includes(n)) : names

function readArrow(bytes, only) {
  const schema = readSchema(bytes)
  const all = arrow.tableFromIPC(schema.intoIPCStream()).schema.fields
  const names = present(all.map(f => f.name), only)
  const table = arrow.tableFromIPC(readParquet(bytes, only ? { columns: names } : undefined).intoIPCStream())
  const columns = names.map(n => table.getChild(n).data.flatMap(values))
  const rows = new Array(table.numRows)
  for (let i = 0; i < table.numRows; i++) rows[i] = columns.map(c => c[i])
  return { schema: all.map(arrowField), columns: names, rows }
}

// hyparquet.

// Timestamps are kept as their integer nanoseconds (hyparquet's default
// makes a Date, to the millisecond); the parsers are called only for the
// columns whose logical type is a timestamp.
const parsers = {
  timestampFromMilliseconds: n => `TIMESTAMP(MILLIS) ${n}`,
  timestampFromMicroseconds: n => `TIMESTAMP(MICROS) ${n}`,
  timestampFromNanoseconds: n => BigInt(n),
}

function hyparquetSchema(elements) {
  let next = 1
  function element() {
    const e = elements[next++]
    const d = { name: e.name, repetition: e.repetition_type ?? null }
    if (e.type) d.type = e.type
    if (e.logical_type) d.logical = e.logical_type
    if (e.converted_type) d.converted = e.converted_type
    if (e.num_children) d.children = Array.from({ length: e.num_children }, element)
    return d
  }
  return Array.from({ length: elements[0].num_children }, element)
}

async function readHyparquet(buf, only) {
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
  const meta = parquetMetadata(ab, { parsers })
  const schema = hyparquetSchema(meta.schema)
  const names = present(schema.map(c => c.name), only)
  const rows = await parquetReadObjects({ file: ab, metadata: meta, columns: names, compressors, parsers })
  const top = new Map(parquetSchema(meta).children.map(c => [c.element.name, c.element]))
  const row_groups = meta.row_groups.map(g => ({
    rows: Number(g.num_rows),
    // The top-level columns' statistics and page index (lists' are of
    // their elements, not of the rows).
    columns: Object.fromEntries(g.columns
      .filter(c => c.meta_data.path_in_schema.length === 1)
      .map(c => {
        const m = c.meta_data
        const name = m.path_in_schema[0]
        const s = m.statistics
        const col = {
          stats: s ? { min_value: s.min_value, max_value: s.max_value, min: s.min, max: s.max, null_count: s.null_count } : null,
        }
        if (c.column_index_offset !== undefined && c.offset_index_offset !== undefined) {
          const element = top.get(name)
          const ci = readColumnIndex(reader(buf, c.column_index_offset), element, parsers)
          const oi = readOffsetIndex(reader(buf, c.offset_index_offset))
          col.pages = oi.page_locations.map((p, i) => ({
            first_row: Number(p.first_row_index),
            null_page: ci.null_pages[i],
            min: ci.min_values[i],
            max: ci.max_values[i],
            null_count: ci.null_counts?.[i],
          }))
        }
        return [name, col]
      })),
  }))
  return { schema, columns: names, rows: rows.map(r => names.map(n => r[n])), row_groups, created_by: meta.created_by ?? null }
}

function reader(buf, offset) {
  return { view: new DataView(buf.buffer, buf.byteOffset, buf.byteLength), offset: Number(offset) }
}

function print(obj) {
  const line = '{' + Object.entries(obj).map(([k, v]) => JSON.stringify(k) + ':' + exact(v)).join(',') + '}\n'
  const b = Buffer.from(line)
  for (let off = 0; off < b.length;) off += writeSync(1, b, off)
}

const args = process.argv.slice(2)
let only
if (args[0] === '--columns') {
  only = args[1].split(',')
  args.splice(0, 2)
}
const dir = args[0]
if (!dir || args.length !== 1) {
  console.error('usage: node read.mjs [--columns a,b,...] DIR')
  process.exit(2)
}
for (const path of files(dir)) {
  const file = relative(dir, path)
  const buf = readFileSync(path)
  for (const [name, read] of [['parquet-wasm', b => readArrow(new Uint8Array(b), only)], ['hyparquet', b => readHyparquet(b, only)]]) {
    try {
      print({ reader: name, file, ...(await read(buf)) })
    } catch (e) {
      print({ reader: name, file, error: String(e?.stack ?? e) })
    }
  }
}

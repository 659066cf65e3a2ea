'use strict';

// Cross-check helper for ErrorHub's wire protocol tests (tests/ErrorHub.Protocol.Tests/CrossCheck).
//
// Runs @msgpack/msgpack, an implementation independent of MessagePack-CSharp, on a batch of cases. Reads ONE JSON
// request from stdin and writes ONE JSON response to stdout:
//
//   request:  { "encode": [ { "options": { ... }, "value": <desc> }, ... ],
//               "decode": [ "<hex of MessagePack bytes>", ... ] }
//   response: { "encoded": [ "<hex>" | { "error": "..." }, ... ],
//               "decoded": [ <desc> | { "t": "error", "message": "..." }, ... ] }
//
// <desc> is a tagged JSON value, so that nothing is lost to JSON's number type:
//   { "t": "nil" }
//   { "t": "bool", "v": true }
//   { "t": "int", "v": "-129" }        encode: a JS number when it fits 32 bits, else a BigInt
//   { "t": "bigint", "v": "5" }        encode: always a BigInt (the library writes uint64/int64)
//   { "t": "number", "bits": "<16 hex digits of the float64>" }
//   { "t": "str", "v": "..." }
//   { "t": "bin", "v": "<hex>" }
//   { "t": "array", "v": [ <desc>, ... ] }
//   { "t": "map", "v": [ [ "<key>", <desc> ], ... ] }   string keys only: JS objects hold the map
//   { "t": "ext", "type": 5, "v": "<hex>" }
//   { "t": "timestamp", "sec": "-1", "nsec": 500000000 }  (extension type -1 as seconds + nanoseconds)
//   { "t": "date", "ms": "1700000000123" }               encode only: a JS Date, the library's own path
//
// Decoding uses useBigInt64, so uint64/int64 come back exactly as { "t": "bigint" }; every other
// integer and every float comes back as { "t": "number" } (JS has one number type). Timestamps are
// decoded to seconds + nanoseconds by the library's own decodeTimestampToTimeSpec.
// Map keys that look like array indexes ("0", "1") are reordered by JS objects: tests avoid them.

const MISSING_DEPENDENCY_EXIT_CODE = 3;

let msgpack;
try {
  msgpack = require('@msgpack/msgpack');
} catch (error) {
  process.stderr.write(
    '@msgpack/msgpack is not installed: run `npm ci --prefix tests/tools/msgpack-crosscheck` ' +
      `from the repository root (${error.message})\n`,
  );
  process.exit(MISSING_DEPENDENCY_EXIT_CODE);
}

const { encode, decode, ExtData, ExtensionCodec, decodeTimestampToTimeSpec, encodeTimeSpecToTimestamp } = msgpack;

class TimeSpec {
  constructor(sec, nsec) {
    this.sec = sec;
    this.nsec = nsec;
  }
}

// Decode timestamps to seconds + nanoseconds instead of a Date, which would keep only milliseconds.
const timeSpecCodec = new ExtensionCodec();
timeSpecCodec.register({
  type: -1,
  encode: () => null,
  decode: (data) => {
    const spec = decodeTimestampToTimeSpec(data);
    return new TimeSpec(spec.sec, spec.nsec);
  },
});

function hexToBytes(hex) {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new Error(`not a hex string: ${hex}`);
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

function bytesToHex(bytes) {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function float64FromBits(hex) {
  const view = new DataView(hexToBytes(hex).buffer);
  return view.getFloat64(0, false);
}

function float64ToBits(value) {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value, false);
  return bytesToHex(new Uint8Array(view.buffer));
}

const INT32_MIN = -(2 ** 31);
const UINT32_MAX = 2 ** 32 - 1;

// <desc> -> the JS value the library encodes.
function toJs(desc) {
  switch (desc.t) {
    case 'nil':
      return null;
    case 'bool':
      return desc.v === true;
    case 'int': {
      const big = BigInt(desc.v);
      return big >= BigInt(INT32_MIN) && big <= BigInt(UINT32_MAX) ? Number(big) : big;
    }
    case 'bigint':
      return BigInt(desc.v);
    case 'number':
      return float64FromBits(desc.bits);
    case 'str':
      return desc.v;
    case 'bin':
      return hexToBytes(desc.v);
    case 'array':
      return desc.v.map(toJs);
    case 'map': {
      const object = {};
      for (const [key, value] of desc.v) {
        if (typeof key !== 'string') {
          throw new Error('map keys must be strings');
        }
        object[key] = toJs(value);
      }
      return object;
    }
    case 'ext':
      return new ExtData(desc.type, hexToBytes(desc.v));
    case 'timestamp':
      return new ExtData(-1, encodeTimeSpecToTimestamp({ sec: Number(desc.sec), nsec: desc.nsec }));
    case 'date':
      return new Date(Number(desc.ms));
    default:
      throw new Error(`unknown value tag: ${JSON.stringify(desc.t)}`);
  }
}

// A decoded JS value -> <desc>.
function fromJs(value) {
  if (value === null) {
    return { t: 'nil' };
  }
  switch (typeof value) {
    case 'boolean':
      return { t: 'bool', v: value };
    case 'bigint':
      return { t: 'bigint', v: value.toString() };
    case 'number':
      return { t: 'number', bits: float64ToBits(value) };
    case 'string':
      return { t: 'str', v: value };
    default:
      break;
  }
  if (value instanceof TimeSpec) {
    return { t: 'timestamp', sec: String(value.sec), nsec: value.nsec };
  }
  if (value instanceof Uint8Array) {
    return { t: 'bin', v: bytesToHex(value) };
  }
  if (value instanceof ExtData) {
    return { t: 'ext', type: value.type, v: bytesToHex(value.data) };
  }
  if (Array.isArray(value)) {
    return { t: 'array', v: value.map(fromJs) };
  }
  if (typeof value === 'object') {
    return { t: 'map', v: Object.entries(value).map(([key, item]) => [key, fromJs(item)]) };
  }
  throw new Error(`cannot describe a decoded ${typeof value}`);
}

function encodeCase(request) {
  try {
    const options = { ...(request.options ?? {}), useBigInt64: true };
    return bytesToHex(encode(toJs(request.value), options));
  } catch (error) {
    return { error: String(error && error.message ? error.message : error) };
  }
}

function decodeCase(hex) {
  try {
    return fromJs(decode(hexToBytes(hex), { useBigInt64: true, extensionCodec: timeSpecCodec }));
  } catch (error) {
    return { t: 'error', message: String(error && error.message ? error.message : error) };
  }
}

function main() {
  const chunks = [];
  process.stdin.on('data', (chunk) => chunks.push(chunk));
  process.stdin.on('end', () => {
    let request;
    try {
      request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (error) {
      process.stderr.write(`the request on stdin is not JSON: ${error.message}\n`);
      process.exit(2);
    }
    const response = {
      encoded: (request.encode ?? []).map(encodeCase),
      decoded: (request.decode ?? []).map(decodeCase),
    };
    process.stdout.write(JSON.stringify(response));
  });
}

main();

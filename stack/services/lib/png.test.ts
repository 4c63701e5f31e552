import { describe, expect, it } from 'vitest';
import zlib from 'node:zlib';
import { PNG_SIGNATURE, crc32, encodePng, solidPng } from './png.ts';

interface Chunk { type: string; data: Buffer; crc: number }

/** Splits a PNG into chunks, independently of the encoder. */
function chunks(png: Buffer): Chunk[] {
  expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  const out: Chunk[] = [];
  let off = 8;
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString('ascii', off + 4, off + 8);
    out.push({ type, data: png.subarray(off + 8, off + 8 + len), crc: png.readUInt32BE(off + 8 + len) });
    off += 12 + len;
  }
  expect(off).toBe(png.length);
  return out;
}

describe('png', () => {
  it('computes the standard CRC-32 check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.from('IEND'))).toBe(0xae426082);
  });

  it('writes signature, IHDR, IDAT, IEND with valid CRCs', () => {
    const png = solidPng(64, 64, [10, 200, 30]);
    const cs = chunks(png);
    expect(cs.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    for (const c of cs) {
      const expected = crc32(Buffer.concat([Buffer.from(c.type, 'ascii'), c.data]));
      expect(c.crc).toBe(expected);
      // Cross-check with zlib's own CRC where this Node has it (20.15+).
      const z = (zlib as unknown as { crc32?: (b: Buffer) => number }).crc32;
      if (z) expect(c.crc).toBe(z(Buffer.concat([Buffer.from(c.type, 'ascii'), c.data])));
    }
    const ihdr = cs[0].data;
    expect(ihdr.length).toBe(13);
    expect(ihdr.readUInt32BE(0)).toBe(64);
    expect(ihdr.readUInt32BE(4)).toBe(64);
    expect([...ihdr.subarray(8)]).toEqual([8, 2, 0, 0, 0]);
    expect(cs[2].data.length).toBe(0);
  });

  it('stores the pixels, one filter byte per row', () => {
    const rgb = Uint8Array.from({ length: 3 * 2 * 3 }, (_, i) => i * 10);
    const raw = zlib.inflateSync(chunks(encodePng(3, 2, rgb))[1].data);
    expect(raw.length).toBe(2 * (1 + 9));
    expect(raw[0]).toBe(0);
    expect([...raw.subarray(1, 10)]).toEqual([...rgb.subarray(0, 9)]);
    expect(raw[10]).toBe(0);
    expect([...raw.subarray(11)]).toEqual([...rgb.subarray(9)]);
  });

  it('refuses bad sizes', () => {
    expect(() => encodePng(0, 1, new Uint8Array(0))).toThrow();
    expect(() => encodePng(2, 2, new Uint8Array(5))).toThrow();
  });
});

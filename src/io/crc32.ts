/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320: the zlib / PNG / gzip
 * checksum), table-driven, one byte per step. Pure: no Node imports, so a
 * browser reader can verify .lowbit files too. crc32("123456789") = 0xCBF43926.
 */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Continues a CRC over `bytes`: crc32(b) = crc32Update(0, b); crc32(a ‖ b) = crc32Update(crc32(a), b). */
export function crc32Update(crc: number, bytes: Uint8Array): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = (TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC-32 of `bytes`, as an unsigned 32-bit integer. */
export const crc32 = (bytes: Uint8Array): number => crc32Update(0, bytes);
